import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../../runtime/env';
import { assertQueueServiceAnswers, createQueueDriver } from '../../../runtime/parts';
import type { RunJob } from '../../../runtime/queue/run-queue';
import { randomQueuePrefix } from '../../support/database';
import { freePort } from '../../support/processes';

// redis-sentinel is redis-server in sentinel mode, so no extra package is needed.
const children: ChildProcess[] = [];
let dir: string;
let masterPort: number;
let replicaPort: number;
let sentinelPort: number;
let master: ChildProcess;

const redisServer = (args: string[]) => {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  children.push(child);
  return child;
};

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** True once the server answers and, for a replica, its link to the master is up. */
const isUp = async (port: number, replica: boolean) => {
  const redis = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('replication');
    return !replica || info.includes('master_link_status:up') ? true : undefined;
  } finally {
    redis.disconnect();
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sentinel-'));
  [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  // --dir: a full resync writes an RDB file, which must not land in the repository.
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  master = redisServer(['--port', String(masterPort), ...common]);
  redisServer([
    '--port',
    String(replicaPort),
    ...common,
    '--replicaof',
    '127.0.0.1',
    String(masterPort),
  ]);
  await until(() => isUp(masterPort, false), 5000);
  await until(() => isUp(replicaPort, true), 10_000);
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `sentinel monitor sluice 127.0.0.1 ${masterPort} 1`,
      'sentinel down-after-milliseconds sluice 1000',
      'sentinel failover-timeout sluice 5000',
      '',
    ].join('\n'),
  );
  redisServer([conf, '--sentinel']);
  const sentinel = new Redis({ port: sentinelPort, retryStrategy: () => 100 });
  sentinel.on('error', () => undefined);
  // The sentinel can fail over once it has discovered the replica.
  await until(async () => {
    const replicas = (await sentinel.call('sentinel', 'replicas', 'sluice')) as unknown[];
    return replicas.length > 0 ? true : undefined;
  }, 15_000);
  sentinel.disconnect();
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('with Redis Sentinel (REDIS_SENTINELS)', () => {
  it('keeps enqueueing and consuming runs across a failover of the master', async () => {
    const env = parseEnv({
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_MASTER: 'sluice',
      SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    });
    // The start-up check finds the master through the Sentinel, as the clients will.
    await expect(assertQueueServiceAnswers(env)).resolves.toBeUndefined();
    const driver = await createQueueDriver(env, pino({ level: 'silent' }));
    const seen: string[] = [];
    const consumer = driver.consume(async (job: RunJob) => {
      seen.push(job.runId);
    }, 1);

    await driver.queue.enqueue({ runId: 'before-failover', replyTo: null });
    await until(async () => (seen.includes('before-failover') ? true : undefined), 5000);

    master.kill('SIGKILL');
    const started = Date.now();
    await until(async () => {
      await driver.queue.enqueue({ runId: 'after-failover', replyTo: null });
      return true;
    }, 20_000);
    await until(async () => (seen.includes('after-failover') ? true : undefined), 10_000);
    // down-after 1 s, then election and promotion; both clients follow the new master.
    expect(Date.now() - started).toBeLessThan(15_000);

    await consumer.close();
    await driver.queue.close();
  }, 60_000);
});
