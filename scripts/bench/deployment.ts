import { createServer, type Server } from 'node:http';
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Queue } from 'bullmq';
import pg from 'pg';
import { RUN_QUEUE_NAME } from '../../runtime/queue/run-queue';
import {
  createTestDatabase,
  randomQueuePrefix,
  type TestDatabase,
} from '../../test/support/database';
import { type SluiceProcess, startSluice } from '../../test/support/processes';
import { startFauxqsChild } from './fauxqs-process';
import {
  addCounts,
  countsOf,
  countsOfCommandSoFar,
  cpuSeconds,
  cpuSecondsOfCommand,
  cpuTimes,
  type ProcessCounts,
  peakRssMb,
} from './proc-stats';
import { startS3rverChild } from './s3rver-process';

export const BENCH_API_KEY = 'sk_bench_0123456789abcdefghijklmnop';

export interface Deployment {
  base: string;
  env: Record<string, string>;
  app: SluiceProcess;
  workers: SluiceProcess[];
  stubUrl: string;
  sql: pg.Client;
  createFlow(definition: unknown): Promise<string>;
  /**
   * Pauses or resumes the run queue: while paused, the app still accepts and enqueues runs,
   * and the workers take none. BullMQ has its own pause; SQS has none, so there the workers
   * are stopped (SIGTERM, nothing in hand) and resuming starts them again, ready.
   */
  setWorkersPaused(paused: boolean): Promise<void>;
  /** Empties the (paused) queue and cancels the flows' queued runs: a backlog not worth running. */
  discardQueuedRuns(flowIds: string[]): Promise<void>;
  usage(): {
    app_cpu_s: number;
    workers_cpu_s: number;
    /** The kernel's part of the workers' CPU: mostly socket I/O to the services. */
    workers_system_cpu_s: number;
    /** The services on the same two cores: PostgreSQL (all backends), the queue's, and s3rver. */
    postgres_cpu_s: number;
    /** The queue service: redis-server for bullmq, the fauxqs emulator for sqs (not SQS's own cost). */
    redis_cpu_s?: number;
    fauxqs_cpu_s?: number;
    s3rver_cpu_s: number;
    app_peak_rss_mb: number;
    workers_peak_rss_mb: number;
    /**
     * Counted, not timed (see ProcessCounts): read- and write-type system calls, and times
     * the processes stopped to wait, so far. A PostgreSQL backend that has ended keeps what it
     * had when last read.
     */
    counts: {
      app: ProcessCounts;
      workers: ProcessCounts;
      postgres: ProcessCounts;
      redis?: ProcessCounts;
    };
  };
  close(): Promise<void>;
}

/** The target of the http-loop flow: answers every POST with a small JSON body. */
async function startStub(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/hook` };
}

export interface DeploymentOptions {
  /** Writes a V8 CPU profile per app and worker process into this directory (node --cpu-prof). */
  profileDir?: string | undefined;
  /** @default 'bullmq' */
  queue?: 'bullmq' | 'sqs';
  /**
   * The bullmq queue's Redis: a server of the benchmark's own keeps its counters free of other
   * users' commands.
   * @default 'redis://127.0.0.1:6379'
   */
  redisUrl?: string;
  /**
   * SLUICE_WORKER_CONCURRENCY of each worker process. The deployed stack runs 1 (one flow per
   * task); other values measure what sharing a process costs or saves.
   * @default 1
   */
  workerConcurrency?: number;
}

/**
 * One app and `workers` workers from dist/, on local PostgreSQL, storage on s3rver, and the
 * queue on the local Redis (bullmq) or a fauxqs child process (sqs, no Redis).
 */
export async function startDeployment(
  workers: number,
  options: DeploymentOptions = {},
): Promise<Deployment> {
  const database: TestDatabase = await createTestDatabase({ migrate: true });
  const s3 = await startS3rverChild();
  const fauxqs = options.queue === 'sqs' ? await startFauxqsChild() : undefined;
  const stub = await startStub();
  const prefix = randomQueuePrefix();
  const redisUrl = new URL(options.redisUrl ?? 'redis://127.0.0.1:6379');
  const queueEnv: Record<string, string> =
    fauxqs === undefined
      ? { REDIS_URL: redisUrl.href, SLUICE_QUEUE_PREFIX: prefix }
      : {
          SLUICE_QUEUE: 'sqs',
          SLUICE_SQS_QUEUE_URL: fauxqs.queueUrl,
          SLUICE_SQS_ENDPOINT: fauxqs.endpoint,
          SLUICE_SQS_ACCESS_KEY_ID: 'fauxqs',
          SLUICE_SQS_SECRET_ACCESS_KEY: 'fauxqs',
        };
  const env = {
    DATABASE_URL: database.url,
    ...queueEnv,
    SLUICE_STORAGE: 's3',
    SLUICE_S3_BUCKET: s3.bucket,
    SLUICE_S3_ENDPOINT: s3.endpoint,
    SLUICE_S3_ACCESS_KEY_ID: 'S3RVER',
    SLUICE_S3_SECRET_ACCESS_KEY: 'S3RVER',
    SLUICE_HTTP_ALLOW_PRIVATE: 'true',
    SLUICE_API_KEY: BENCH_API_KEY,
    // As the image runs them (Dockerfile): without the module compile cache.
    NODE_DISABLE_COMPILE_CACHE: '1',
  };
  const workerEnv = {
    ...env,
    SLUICE_ROLE: 'worker',
    SLUICE_WORKER_CONCURRENCY: String(options.workerConcurrency ?? 1),
  };
  // Node 20 refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line.
  const nodeArgs =
    options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`];
  const app = await startSluice(
    { ...env, SLUICE_ROLE: 'app', PORT: '0', HOST: '127.0.0.1' },
    undefined,
    nodeArgs,
  );
  const startWorkers = () =>
    Promise.all(Array.from({ length: workers }, () => startSluice(workerEnv, undefined, nodeArgs)));
  const workerProcesses = await startWorkers();
  const base = `http://127.0.0.1:${app.port}`;
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const queue =
    fauxqs === undefined
      ? new Queue(RUN_QUEUE_NAME, {
          connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) },
          prefix,
        })
      : undefined;
  const sqs =
    fauxqs === undefined
      ? undefined
      : new SQSClient({
          region: 'us-east-1',
          endpoint: fauxqs.endpoint,
          credentials: { accessKeyId: 'fauxqs', secretAccessKey: 'fauxqs' },
        });
  // CPU of workers stopped by a pause still counts towards the run that used it.
  let stoppedWorkersCpuS = 0;
  let stoppedWorkersCounts: ProcessCounts = { ioCalls: 0, waits: 0 };
  const postgresCounts = countsOfCommandSoFar('postgres');
  const redisCounts = countsOfCommandSoFar('redis-server');

  return {
    base,
    env,
    app,
    workers: workerProcesses,
    stubUrl: stub.url,
    sql,
    async createFlow(definition) {
      const res = await fetch(`${base}/v1/flows`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(definition),
      });
      if (res.status !== 201) throw new Error(`creating a flow answered ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    },
    async setWorkersPaused(paused) {
      if (queue !== undefined) {
        await (paused ? queue.pause() : queue.resume());
      } else if (paused) {
        const stopping = workerProcesses.splice(0);
        stoppedWorkersCpuS += stopping.reduce((sum, w) => sum + cpuSeconds(w.child.pid ?? 0), 0);
        stoppedWorkersCounts = addCounts(
          stoppedWorkersCounts,
          countsOf(stopping.map((w) => w.child.pid ?? 0)),
        );
        await Promise.all(stopping.map((worker) => worker.stop('SIGTERM')));
      } else if (workerProcesses.length === 0) {
        workerProcesses.push(...(await startWorkers()));
      }
    },
    async discardQueuedRuns(flowIds) {
      if (queue !== undefined) await queue.drain();
      else await sqs?.send(new PurgeQueueCommand({ QueueUrl: fauxqs?.queueUrl }));
      await sql.query(
        `update runs set status = 'canceled', error = 'discarded by the benchmark', finished_at = now()
          where flow_id = any($1) and status = 'queued'`,
        [flowIds],
      );
    },
    usage() {
      const pids = workerProcesses.map((worker) => worker.child.pid ?? 0);
      const appPid = app.child.pid ?? 0;
      const fauxqsPid = fauxqs?.child()?.pid;
      return {
        app_cpu_s: cpuSeconds(appPid),
        workers_cpu_s: stoppedWorkersCpuS + pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
        workers_system_cpu_s: pids.reduce((sum, pid) => sum + cpuTimes(pid).system, 0),
        postgres_cpu_s: cpuSecondsOfCommand('postgres'),
        ...(fauxqsPid === undefined
          ? { redis_cpu_s: cpuSecondsOfCommand('redis-server') }
          : { fauxqs_cpu_s: cpuSeconds(fauxqsPid) }),
        s3rver_cpu_s: cpuSeconds(s3.child.pid ?? 0),
        app_peak_rss_mb: peakRssMb(appPid),
        workers_peak_rss_mb: Math.max(...pids.map(peakRssMb)),
        counts: {
          app: countsOf([appPid]),
          workers: addCounts(stoppedWorkersCounts, countsOf(pids)),
          postgres: postgresCounts(),
          ...(fauxqsPid === undefined ? { redis: redisCounts() } : {}),
        },
      };
    },
    async close() {
      // A profiled process writes its profile on a clean exit only.
      const signal = options.profileDir === undefined ? 'SIGKILL' : 'SIGTERM';
      await Promise.all([app, ...workerProcesses].map((p) => p.stop(signal)));
      await sql.end();
      await queue?.close();
      sqs?.destroy();
      await fauxqs?.close();
      stub.server.close();
      // s3rver removes its directory on SIGTERM; one still busy storing logs gets 5 s.
      const exited = new Promise((done) => s3.child.once('exit', done));
      s3.child.kill('SIGTERM');
      const killer = setTimeout(() => s3.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      await database.drop();
    },
  };
}

/** Counts of the flow's runs by status. */
export async function runCounts(sql: pg.Client, flowId: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ status: string; n: string }>(
    'select status, count(*) as n from runs where flow_id = $1 group by status',
    [flowId],
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

/** Waits until none of the flow's runs is queued or running. */
export async function waitForDrain(
  sql: pg.Client,
  flowId: string,
  timeoutMs = 300_000,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await runCounts(sql, flowId);
    if ((counts.queued ?? 0) + (counts.running ?? 0) === 0) return;
    if (Date.now() > deadline)
      throw new Error(`runs of ${flowId} did not drain: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
