import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RUN_QUEUE_NAME } from '../../../runtime/queue/run-queue';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { type SluiceProcess, startSluice } from '../../support/processes';

/** Two APP processes publishing EMF on stdout every second, on real Redis and PostgreSQL. */
const INTERVAL_MS = 1000;
const REDIS = { host: '127.0.0.1', port: 6379 };

interface Publication {
  from: string;
  at: number;
  QueueWaiting: number;
  QueueActive: number;
  OldestWaitingAgeSeconds: number;
  Workers: number;
  BacklogPerWorker: number;
}

let database: TestDatabase;
let prefix: string;
let apps: { name: string; process: SluiceProcess }[];
let queue: Queue;

const startApp = async (name: string) => ({
  name,
  process: await startSluice({
    SLUICE_ROLE: 'app',
    SLUICE_INSTANCE_ID: name,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: prefix,
    SLUICE_METRICS: 'emf',
    SLUICE_METRICS_INTERVAL_S: String(INTERVAL_MS / 1000),
    SLUICE_DEPLOYMENT_NAME: 'depth-test',
  }),
});

/** Depth publications (EMF documents with QueueWaiting) from every app, oldest first. */
function publications(): Publication[] {
  return apps
    .flatMap(({ name, process }) =>
      process
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{"_aws"') && line.includes('"QueueWaiting"'))
        .map((line) => {
          const doc = JSON.parse(line) as Omit<Publication, 'from' | 'at'> & {
            _aws: {
              Timestamp: number;
              CloudWatchMetrics: { Metrics: { StorageResolution: number }[] }[];
            };
            Deployment: string;
          };
          expect(doc.Deployment).toBe('depth-test');
          expect(
            doc._aws.CloudWatchMetrics[0]?.Metrics.every((m) => m.StorageResolution === 1),
          ).toBe(true);
          return { ...doc, from: name, at: doc._aws.Timestamp };
        }),
    )
    .sort((a, b) => a.at - b.at);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the publications (a deadline, not a fixed sleep): on a busy 2-core box an interval
 * can come late, and a test that counted after a fixed time would fail on a slow tick.
 */
function publicationsAfter(
  after: number,
  count: number,
  timeoutMs: number,
): Promise<Publication[]> {
  return vi.waitFor(
    () => {
      const found = publications().filter((p) => p.at > after);
      if (found.length < count) throw new Error(`${found.length} of ${count} depth publications`);
      return found.slice(0, count);
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

async function nextPublication(after: number, timeoutMs = 10_000): Promise<Publication> {
  const [found] = await publicationsAfter(after, 1, timeoutMs);
  if (found === undefined) throw new Error('no depth publication');
  return found;
}

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  prefix = randomQueuePrefix();
  queue = new Queue(RUN_QUEUE_NAME, { connection: REDIS, prefix });
  apps = [await startApp('app-a')];
  apps.push(await startApp('app-b'));
}, 60_000);

afterAll(async () => {
  await Promise.all((apps ?? []).map(({ process }) => process.stop('SIGKILL')));
  await queue?.obliterate({ force: true });
  await queue?.close();
  await database?.drop();
});

describe('queue depth publisher', () => {
  it('publishes from exactly one APP instance per interval', async () => {
    const window = await publicationsAfter(Date.now(), 5, 20 * INTERVAL_MS);
    expect(new Set(window.map((p) => p.from)).size).toBe(1);
    // Never two in one interval (the lock holds); how late a tick may come on a loaded box is
    // a latency figure, measured by `npm run bench -- --scenarios recovery` instead.
    for (let i = 1; i < window.length; i++) {
      const gap = (window[i]?.at ?? 0) - (window[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThan(0.75 * INTERVAL_MS);
    }
  });

  it('publishes values equal to the real queue counts, with 0 and then 2 workers', async () => {
    const jobs = 6;
    const firstAdded = Date.now();
    for (let i = 0; i < jobs; i++) {
      await queue.add('run', { runId: `r${i}`, replyTo: null }, { jobId: `r${i}` });
      // The first job waits longest: the age must be the oldest job's, not the newest's.
      if (i === 0) await sleep(1200);
    }
    const idle = await nextPublication(Date.now() + 50);
    expect(idle).toMatchObject({
      QueueWaiting: jobs,
      QueueActive: 0,
      Workers: 0,
      BacklogPerWorker: jobs,
    });
    expect(idle.OldestWaitingAgeSeconds).toBeGreaterThanOrEqual(1.2);
    expect(idle.OldestWaitingAgeSeconds).toBeLessThanOrEqual((idle.at - firstAdded) / 1000 + 0.1);

    // Two real BullMQ workers each hold one job until released.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workers = [0, 1].map(
      () => new Worker(RUN_QUEUE_NAME, () => held, { connection: REDIS, prefix, concurrency: 1 }),
    );
    try {
      // Both workers hold a job (the event), then the next publication must show it.
      await vi.waitFor(async () => expect(await queue.getActiveCount()).toBe(2), {
        timeout: 10_000,
        interval: 20,
      });
      const busy = await nextPublication(Date.now());
      expect(busy).toMatchObject({
        QueueWaiting: jobs - 2,
        QueueActive: 2,
        Workers: 2,
        BacklogPerWorker: jobs / 2,
      });
    } finally {
      await Promise.all(workers.map((worker) => worker.close(true)));
      release();
    }
  });

  it('moves publishing to the other instance when the publisher is killed', async () => {
    const last = publications().at(-1);
    if (last === undefined) throw new Error('no publication yet');
    const holder = apps.find((app) => app.name === last.from);
    await holder?.process.stop('SIGKILL');
    const killedAt = Date.now();
    // The takeover time (lock TTL 1.5 intervals plus a quarter) is a bench figure; here the
    // deadline only tells "took over" from "never did".
    const next = await nextPublication(killedAt, 10 * INTERVAL_MS);
    expect(next.from).not.toBe(last.from);
  });
});
