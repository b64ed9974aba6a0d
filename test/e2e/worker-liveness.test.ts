import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_HEALTH_PROBE_COMMAND } from '../../runtime/limits';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';

/**
 * The worker container's health check, run as ECS runs it (`node health-probe.mjs` in the
 * bundle's directory) against a real worker process.
 *
 * The wedge: the worker runs with the inspector on, and the test asks V8 to pause its main
 * thread (Debugger.pause). The process keeps running, its sockets stay open and the kernel
 * still accepts connections, but no JavaScript runs on the event loop, exactly as when host
 * code spins forever. A code step cannot wedge the loop (the sandbox runs it on the isolate's
 * own thread, with every wait bounded), so a paused main thread is the honest stand-in for the
 * bug this check exists to catch.
 */
let database: TestDatabase;
let worker: SluiceProcess;
let healthPort: number;

beforeAll(async () => {
  database = await createTestDatabase();
  healthPort = await freePort();
  worker = await startSluice(
    {
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
      SLUICE_ROLE: 'worker',
      SLUICE_WORKER_HEALTH_PORT: String(healthPort),
    },
    30_000,
    ['--inspect=127.0.0.1:0'],
  );
}, 40_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await database?.drop();
});

/**
 * Preloaded into the probe's process: writes, on fd 3 as it exits, the milliseconds from just
 * before the probe's own module loads to its verdict. Node's own start-up, which on a loaded
 * 2-core box alone takes one to two seconds, is the machine's, not the probe's.
 */
const TIME_OWN_RUN =
  'data:text/javascript,import{writeSync}from"node:fs";const t=performance.now();' +
  'process.on("exit",()=>writeSync(3,String(performance.now()-t)))';

/** Runs the probe from dist/ as the container does; resolves with its exit code and own time. */
function probe(): Promise<{ code: number | null; ms: number; said: string }> {
  const [command, script] = WORKER_HEALTH_PROBE_COMMAND;
  expect(command).toBe('node');
  const child = spawn(process.execPath, ['--import', TIME_OWN_RUN, script], {
    cwd: resolve('dist'),
    env: { PATH: process.env.PATH ?? '', SLUICE_WORKER_HEALTH_PORT: String(healthPort) },
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  let said = '';
  let ms = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    said += chunk.toString();
  });
  child.stdio[3]?.on('data', (chunk: Buffer) => {
    ms += chunk.toString();
  });
  return new Promise((done) =>
    child.once('close', (code) =>
      done({ code, ms: ms === '' ? Number.NaN : Number(ms), said: said.trim() }),
    ),
  );
}

/** A DevTools-protocol session with the worker's inspector. */
async function inspect(): Promise<{
  send(method: string): Promise<void>;
  event(method: string): Promise<void>;
  close(): void;
}> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(worker.errors())?.[1];
  if (url === undefined) throw new Error(`no inspector URL in:\n${worker.errors()}`);
  const socket = new WebSocket(url);
  await new Promise((done, fail) => {
    socket.onopen = done;
    socket.onerror = fail;
  });
  let id = 0;
  const listeners = new Set<(message: { id?: number; method?: string }) => void>();
  socket.onmessage = (message) => {
    const parsed = JSON.parse(String(message.data));
    for (const listener of listeners) listener(parsed);
  };
  const waitFor = (match: (message: { id?: number; method?: string }) => boolean) =>
    new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error('no answer from the inspector')), 10_000);
      const listener = (message: { id?: number; method?: string }) => {
        if (!match(message)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        done();
      };
      listeners.add(listener);
    });
  return {
    send(method) {
      id += 1;
      const mine = id;
      const answered = waitFor((message) => message.id === mine);
      socket.send(JSON.stringify({ id: mine, method }));
      return answered;
    },
    event: (method) => waitFor((message) => message.method === method),
    close: () => socket.close(),
  };
}

describe('the worker container health check', () => {
  it('passes within 3 s against a worker that is idle and well', async () => {
    const result = await probe();
    expect(result).toMatchObject({ code: 0, said: 'healthy: {"status":"ok"}' });
    expect(result.ms).toBeLessThan(3000);
  });

  it('fails within 3 s while the worker’s event loop is wedged, and passes again once it turns', async () => {
    const session = await inspect();
    try {
      await session.send('Debugger.enable');
      const paused = session.event('Debugger.paused');
      await session.send('Debugger.pause');
      // The loop's next JavaScript (the liveness heartbeat, at most 1 s away) stops there.
      await paused;

      const wedged = await probe();
      expect(wedged.code).toBe(1);
      expect(wedged.said).toContain('no answer within 2000 ms');
      // Its own 2 s wait, then the verdict.
      expect(wedged.ms).toBeGreaterThanOrEqual(1900);
      expect(wedged.ms).toBeLessThan(3000);

      await session.send('Debugger.resume');
      const deadline = Date.now() + 10_000;
      let recovered = await probe();
      while (recovered.code !== 0 && Date.now() < deadline) recovered = await probe();
      expect(recovered.code).toBe(0);
    } finally {
      session.close();
    }
  }, 30_000);
});
