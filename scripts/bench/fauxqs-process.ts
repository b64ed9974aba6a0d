import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/processes';

/**
 * fauxqs writes every operation to SQLite in its data dir; on disk its syncs would serialise
 * the queue (about 140 sends/s here), a cost SQS never puts on us: keep it in memory.
 */
const MEMORY_TMPDIR = '/dev/shm';

/** fauxqs as a child process that can be killed and started again on the same port and data. */
export interface FauxqsProcess {
  endpoint: string;
  queueUrl: string;
  /** The running child, for CPU accounting. */
  child(): ChildProcess | undefined;
  /** SIGKILL: an SQS outage. Messages are kept in the data dir. */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startFauxqsChild(): Promise<FauxqsProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(
    join(existsSync(MEMORY_TMPDIR) ? MEMORY_TMPDIR : tmpdir(), 'sluice-fauxqs-'),
  );
  let child: ChildProcess | undefined;
  let endpoint = '';
  let queueUrl = '';
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const started = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/bench/fauxqs-child.ts', String(port), dataDir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child = started;
      started.once('exit', (code) => reject(new Error(`fauxqs exited with ${code}`)));
      started.stdout?.once('data', (chunk: Buffer) => {
        ({ endpoint, queueUrl } = JSON.parse(chunk.toString()) as {
          endpoint: string;
          queueUrl: string;
        });
        resolve();
      });
    });
  const kill = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    endpoint,
    queueUrl,
    child: () => child,
    kill,
    start,
    async close() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
