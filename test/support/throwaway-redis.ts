import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './processes';

/** A redis-server of our own, without persistence, that a test may stop and start at will. */
export interface ThrowawayRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: everything in it is lost, as after a restart without persistence. */
  stop(): Promise<void>;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: ThrowawayRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      // Already up: a second redis-server would fail to bind, and take the first one's place
      // here, so that stop() killed the wrong one and the first outlived the test run.
      if (child !== undefined && child.exitCode === null && child.signalCode === null) return;
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          tmpdir(),
        ],
        { stdio: 'ignore' },
      );
      const deadline = Date.now() + 5000;
      for (;;) {
        const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
        probe.on('error', () => undefined);
        const up = await probe.connect().then(
          () => probe.ping().then(() => true),
          () => false,
        );
        probe.disconnect();
        if (up) return;
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((done) => running.once('exit', done));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await redis.start();
  return redis;
}
