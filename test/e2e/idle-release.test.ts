import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertQueuedRun } from '../../runtime/db/run-store';
import { signIn } from '../support/console-session';
import { admin, createTestDatabase, type TestDatabase, withPgClient } from '../support/database';
import { doubleFlow } from '../support/flows';
import { createFlowOverHttp } from '../support/flows-over-http';
import { pollJson, type SluiceProcess, startSluice } from '../support/processes';
import { type QueueBackendEnv, startQueueBackend } from '../support/queue-backends';
import { type RunningS3rver, s3StorageEnv, startS3rver } from '../support/s3rver';

/**
 * The serverless profile's promise: on the sqs queue, an APP and a worker that have been idle
 * for SLUICE_IDLE_RELEASE_S hold no PostgreSQL connection and run no query, so Aurora can
 * pause; work wakes what it needs, and nothing is lost. Split roles from the bundle, on
 * PostgreSQL, fauxqs and s3rver; sessions are read from a connection to another database.
 */
const API_KEY = 'sk_e2e_idle_release_key_0123456789';
const QUIET_S = 2;

interface Session {
  pid: number;
  application_name: string;
  state: string | null;
  query: string;
}

describe('idle release on the sqs queue', () => {
  let database: TestDatabase;
  let queue: QueueBackendEnv;
  let s3: RunningS3rver;
  let app: SluiceProcess;
  let worker: SluiceProcess;
  let base: string;
  const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    [s3, queue] = await Promise.all([startS3rver(), startQueueBackend('sqs')]);
    const shared = {
      DATABASE_URL: database.url,
      ...queue.env,
      ...s3StorageEnv(s3),
      SLUICE_IDLE_RELEASE_S: String(QUIET_S),
      SLUICE_DB_IDLE_TIMEOUT_MS: '1000',
      // Long enough that a sync reply missed for want of LISTEN shows as a slow answer.
      SLUICE_WEBHOOK_TIMEOUT_S: '10',
    };
    app = await startSluice({
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
      SLUICE_RECONCILE_INTERVAL_S: '1',
      // Longer than the quiet period: a queued run must keep the reconciler awake past it.
      SLUICE_RECONCILE_AFTER_S: String(QUIET_S * 2),
      // The metrics election and its depth reads must rest too.
      SLUICE_METRICS: 'emf',
      SLUICE_METRICS_INTERVAL_S: '1',
    });
    worker = await startSluice({ ...shared, SLUICE_ROLE: 'worker' });
    base = `http://127.0.0.1:${app.port}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([app, worker].filter(Boolean).map((p) => p.stop('SIGKILL')));
    await s3?.close();
    await queue?.close();
    await database?.drop();
  });

  const dbName = () => new URL(database.url).pathname.slice(1);

  /** Client sessions on the test database, read from the shared `test` database. */
  const sessions = () =>
    admin(async (client) => {
      const result = await client.query<Session>(
        `select pid, application_name, state, query from pg_stat_activity
          where datname = $1 and backend_type = 'client backend'`,
        [dbName()],
      );
      return result.rows;
    });

  /** Resolves once Sluice holds no connection to its database, else fails naming them. */
  async function idleWithin(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let open = await sessions();
    while (open.length > 0 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 100));
      open = await sessions();
    }
    expect(open, 'connections still open to the database').toEqual([]);
  }

  /** No connection appears for `ms`: no lease renewal, probe, pass or depth read. */
  async function staysIdle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      expect(await sessions(), 'a connection opened while idle').toEqual([]);
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  /** One query on a connection of its own, closed at once (it never counts as Sluice's). */
  const query = <R>(text: string, values: unknown[] = []) =>
    withPgClient(database.url, async (client) => (await client.query(text, values)).rows as R[]);

  const createFlow = (definition: unknown) => createFlowOverHttp(base, auth, definition);

  /** Polls the run row directly: an API call would be work, and wake what should rest. */
  async function runRowUntil(
    where: string,
    values: unknown[],
    done: (row: { id: string; status: string }) => boolean,
    timeoutMs: number,
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await query<{
        id: string;
        status: string;
        scheduled_at: Date | null;
        created_at: Date;
      }>(`select id, status, scheduled_at, created_at from runs where ${where}`, values);
      if (row !== undefined && done(row)) return row;
      if (Date.now() > deadline) throw new Error(`no such run in time: ${JSON.stringify(row)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('holds no connection once idle, then answers a sync webhook at once and runs an async one', async () => {
    const flowId = await createFlow(doubleFlow);
    // The worker looks at its session every 5 s; the pool closes idle connections after 1 s.
    await idleWithin(15_000);
    await staysIdle(4000);

    const started = Date.now();
    const sync = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(sync.status).toBe(201);
    expect(await sync.json()).toEqual({ doubled: 42 });
    // LISTEN was back before the job was enqueued: the reply came, not the 10 s row read.
    expect(Date.now() - started).toBeLessThan(5000);

    const accepted = await fetch(`${base}/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 5 }),
    });
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    await pollJson<{ status: string }>(
      `${base}/v1/runs/${runId}`,
      { headers: auth },
      (run) => run.status === 'succeeded',
    );

    // And it rests again.
    await idleWithin(15_000);
  }, 60_000);

  it('keeps the reconciler awake while a run is queued with no message, and recovers it', async () => {
    const flowId = await createFlow(doubleFlow);
    await idleWithin(15_000);
    // A run committed whose message never reached SQS (the enqueue was lost).
    const [flow] = await query<{ project_id: string; current_version_id: string }>(
      'select project_id, current_version_id from flows where id = $1',
      [flowId],
    );
    const runId = randomUUID();
    await insertQueuedRun(database.handle.db, {
      id: runId,
      projectId: flow?.project_id ?? '',
      flowId,
      flowVersionId: flow?.current_version_id ?? '',
      trigger: { body: { n: 4 }, headers: {}, query: {} },
    });
    // Any request is work: it wakes the reconciler, which then stays awake past the quiet
    // period, since the run is unfinished, until it re-sends the run once it is overdue.
    expect((await fetch(`${base}/v1/flows/${flowId}`, { headers: auth })).status).toBe(200);
    await runRowUntil('id = $1', [runId], (row) => row.status === 'succeeded', 20_000);
    await idleWithin(15_000);
  }, 60_000);

  it('fires a schedule whose tick comes after the scheduler went to rest, on time', async () => {
    // A tick 50 s ahead: the scheduler rests, wakes 30 s before it, and fires it.
    const tick = new Date(Math.ceil((Date.now() + 50_000) / 1000) * 1000);
    const flowId = await createFlow({
      ...doubleFlow,
      name: 'scheduled',
      trigger: { type: 'schedule', cron: `${tick.getUTCSeconds()} * * * * *`, timezone: 'UTC' },
      steps: [{ id: 'main', type: 'code', code: 'export default () => ({ ok: true })' }],
    });
    await idleWithin(15_000);
    expect(Date.now()).toBeLessThan(tick.getTime() - 30_000);

    const run = await runRowUntil(
      'flow_id = $1',
      [flowId],
      (row) => row.status === 'succeeded',
      tick.getTime() - Date.now() + 20_000,
    );
    const fired = run as unknown as { scheduled_at: Date; created_at: Date };
    expect(fired.scheduled_at.getTime()).toBe(tick.getTime());
    // Fired within about one pass of its time (500 ms), not after a wake-up's delay.
    expect(fired.created_at.getTime() - tick.getTime()).toBeLessThan(1500);
  }, 90_000);

  it('counts the resting worker as seen recently on the System page, and lets it stop without waking the database', async () => {
    await idleWithin(15_000);
    const cookie = await signIn(base, API_KEY);
    const html = await (await fetch(`${base}/console/system`, { headers: { cookie } })).text();
    expect(/Workers seen, last 10 min<strong>([^<]*)<\/strong>/.exec(html)?.[1]).toBe('1');
    expect(html).not.toContain('No worker has been seen');
    expect(html).not.toContain('message error');

    // A resting worker that is scaled in leaves its sighting to age out: no connection.
    await idleWithin(15_000);
    const stopping = worker.stop();
    await staysIdle(1500);
    expect(await stopping).toBe(0);
  }, 60_000);
});
