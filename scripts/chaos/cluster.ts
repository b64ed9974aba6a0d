import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { type SluiceProcess, startSluice } from '../../test/support/processes';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../../test/support/throwaway-postgres';
import { startThrowawayRedis, type ThrowawayRedis } from '../../test/support/throwaway-redis';
import { type FauxqsProcess, startFauxqsChild } from '../bench/fauxqs-process';
import { startS3rverChild } from '../bench/s3rver-process';
import { type PausableProxy, startPausableProxy } from './pausable-proxy';

const API_KEY = 'sk_chaos_0123456789abcdefghijklmnop';

/** The queue the cluster runs on: BullMQ on a throwaway Redis, or SQS (fauxqs) with no Redis. */
export type ChaosQueue = 'bullmq' | 'sqs';

/**
 * App, workers, and dependencies of their own that a scenario may break: a throwaway
 * PostgreSQL cluster, the queue's service (a throwaway Redis, never the shared 6379, or a
 * fauxqs child keeping its messages on disk), s3rver behind a pausable proxy, and a stub HTTP
 * endpoint that counts how many times each run's side effect happened.
 */
export interface ChaosCluster {
  base: string;
  workers: SluiceProcess[];
  /** Set on the bullmq queue. */
  redis?: ThrowawayRedis;
  /** Set on the sqs queue. */
  sqs?: FauxqsProcess;
  postgres: ThrowawayPostgres;
  s3: PausableProxy;
  stubUrl: string;
  /** How many times the stub saw each `seq`: more than once is a duplicate execution. */
  hits: Map<string, number>;
  /** Side effects in progress right now: stub requests received and not yet answered. */
  stubInFlight(): number;
  createFlow(name: string): Promise<string>;
  startWorker(): Promise<SluiceProcess>;
  /** Final and unfinished runs of a flow, read on a fresh connection. */
  runStatuses(flowId: string): Promise<Map<string, string>>;
  /** Each run of a flow with its status and attempt count, read on a fresh connection. */
  runAttempts(flowId: string): Promise<Map<string, { status: string; attempt: number }>>;
  close(): Promise<void>;
}

export interface ChaosTuning {
  stalledAfterS: number;
  reconcileIntervalS: number;
  reconcileAfterS: number;
  /** How long the stub takes to answer: the time a run spends in flight. */
  stubDelayMs: number;
}

async function startStub(delayMs: number, hits: Map<string, number>) {
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => inFlight--);
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      try {
        const seq = String((JSON.parse(body) as { seq: unknown }).seq);
        hits.set(seq, (hits.get(seq) ?? 0) + 1);
      } catch {
        // not a chaos run
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }, delayMs);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/hook`, inFlight: () => inFlight };
}

export async function startChaosCluster(
  workers: number,
  tuning: ChaosTuning,
  queue: ChaosQueue = 'bullmq',
): Promise<ChaosCluster> {
  const [postgres, redis, sqs, s3rver] = await Promise.all([
    startThrowawayPostgres(),
    queue === 'bullmq' ? startThrowawayRedis() : undefined,
    queue === 'sqs' ? startFauxqsChild() : undefined,
    startS3rverChild(),
  ]);
  const queueEnv: Record<string, string> =
    sqs === undefined
      ? { REDIS_URL: redis?.url ?? '' }
      : {
          SLUICE_QUEUE: 'sqs',
          SLUICE_SQS_QUEUE_URL: sqs.queueUrl,
          SLUICE_SQS_ENDPOINT: sqs.endpoint,
          SLUICE_SQS_ACCESS_KEY_ID: 'fauxqs',
          SLUICE_SQS_SECRET_ACCESS_KEY: 'fauxqs',
        };
  const s3 = await startPausableProxy(Number(new URL(s3rver.endpoint).port));
  const hits = new Map<string, number>();
  const stub = await startStub(tuning.stubDelayMs, hits);
  const env = {
    DATABASE_URL: postgres.url,
    ...queueEnv,
    SLUICE_STORAGE: 's3',
    SLUICE_S3_BUCKET: s3rver.bucket,
    SLUICE_S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
    SLUICE_S3_ACCESS_KEY_ID: 'S3RVER',
    SLUICE_S3_SECRET_ACCESS_KEY: 'S3RVER',
    SLUICE_HTTP_ALLOW_PRIVATE: 'true',
    SLUICE_API_KEY: API_KEY,
    SLUICE_STALLED_AFTER_S: String(tuning.stalledAfterS),
    SLUICE_RECONCILE_INTERVAL_S: String(tuning.reconcileIntervalS),
    SLUICE_RECONCILE_AFTER_S: String(tuning.reconcileAfterS),
    SLUICE_DB_POOL_SIZE: '4',
    // Logs with the 4 KiB pad (every other run) go to S3, the others stay in the run row.
    SLUICE_INLINE_LOG_MAX_BYTES: '2048',
  };
  const stopDependencies = async () => {
    stub.server.close();
    await s3.close();
    s3rver.child.kill('SIGTERM');
    await redis?.stop();
    await sqs?.close();
    await postgres.destroy();
  };
  const startWorker = () => startSluice({ ...env, SLUICE_ROLE: 'worker' });
  let app: SluiceProcess;
  let workerProcesses: SluiceProcess[];
  try {
    app = await startSluice({ ...env, SLUICE_ROLE: 'app', PORT: '0', HOST: '127.0.0.1' });
    workerProcesses = await Promise.all(Array.from({ length: workers }, startWorker));
  } catch (error) {
    await stopDependencies();
    throw error;
  }
  const cluster: ChaosCluster = {
    base: `http://127.0.0.1:${app.port}`,
    workers: workerProcesses,
    ...(redis === undefined ? {} : { redis }),
    ...(sqs === undefined ? {} : { sqs }),
    postgres,
    s3,
    stubUrl: stub.url,
    hits,
    stubInFlight: stub.inFlight,
    startWorker,
    async createFlow(name) {
      const res = await fetch(`${cluster.base}/v1/flows`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          trigger: { type: 'webhook' },
          steps: [
            {
              id: 'effect',
              type: 'http',
              method: 'POST',
              url: stub.url,
              body: { seq: '{{trigger.body.seq}}' },
            },
            {
              id: 'pad',
              type: 'code',
              code: 'export default ({ trigger }) => trigger.body.pad ?? null',
            },
            { id: 'reply', type: 'respond', status: 200, body: { ok: true } },
          ],
        }),
      });
      if (res.status !== 201) throw new Error(`creating a flow answered ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    },
    async runStatuses(flowId) {
      const attempts = await cluster.runAttempts(flowId);
      return new Map([...attempts].map(([id, row]) => [id, row.status]));
    },
    async runAttempts(flowId) {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string; status: string; attempt: number }>(
          'select id, status, attempt from runs where flow_id = $1',
          [flowId],
        );
        return new Map(rows.map(({ id, status, attempt }) => [id, { status, attempt }]));
      } finally {
        await client.end();
      }
    },
    async close() {
      await Promise.all([app, ...cluster.workers].map((p) => p.stop('SIGKILL')));
      await stopDependencies();
    },
  };
  return cluster;
}
