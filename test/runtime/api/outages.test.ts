import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../../runtime/api/app';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { ENQUEUE_FAILED } from '../../../runtime/db/run-recovery-store';
import { parseEnv } from '../../../runtime/env';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import type { RunQueue } from '../../../runtime/queue/run-queue';
import { randomQueuePrefix } from '../../support/database';
import { doubleFlow } from '../../support/flows';
import { serveOnLoopback } from '../../support/loopback-server';
import { testSecretStore } from '../../support/secrets';
import { startSilentServer } from '../../support/silent-server';
import { querySql } from '../../support/sql';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres';
import { startThrowawayRedis, type ThrowawayRedis } from '../../support/throwaway-redis';

type Api = ReturnType<typeof createApi>;

let pg: ThrowawayPostgres;
let redis: ThrowawayRedis;
let setup: DatabaseHandle;
let flowId: string;
let apiKey: string;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis()]);
  setup = connectPostgres({ url: pg.url, poolSize: 1, idleTimeoutMs: 1000 });
  await setup.migrate();
  apiKey = generateApiKey();
  const { projectId } = await createProjectWithKey(setup.db, { name: 'outages', apiKey });
  ({ id: flowId } = await createFlow(setup.db, {
    projectId,
    name: 'double',
    definition: doubleFlow,
    webhookSecret: null,
  }));
  await setup.close();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  await pg?.destroy();
});

/** The APP without a worker, wired from the same parts as start.ts. */
async function startApi(
  redisUrl: string,
  {
    subscribe = true,
    databaseUrl = pg.url,
    queueAs = (queue: RunQueue) => queue,
  }: { subscribe?: boolean; databaseUrl?: string; queueAs?: (queue: RunQueue) => RunQueue } = {},
) {
  const env = parseEnv({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: '/tmp/sluice-outages-test',
    SLUICE_WEBHOOK_TIMEOUT_S: '2',
  });
  const logger = pino({ level: 'silent' });
  const database = connectPostgres({ url: databaseUrl, poolSize: 4, idleTimeoutMs: 1000 });
  const driver = await createQueueDriver(env, logger);
  const replies = await createReplyBus(env, `outages-${Date.now()}`, { subscribe });
  const { store } = createFileStore(env);
  const api = createApi({
    env,
    database,
    queue: queueAs(driver.queue),
    replies,
    store,
    secrets: testSecretStore(database.db),
    logger,
  });
  // Served on a real socket: what a client sees over HTTP, headers and all.
  const server = await serveOnLoopback(api.fetch);
  const { base } = server;
  return {
    api,
    base,
    database,
    async close() {
      await server.close();
      await replies.close();
      await driver.queue.close();
      await database.close().catch(() => {});
    },
  };
}

/** Calls the API over its socket; asserts a 5xx carries only a fixed text and a request id. */
async function timed(app: { base: string }, path: string, init?: RequestInit) {
  const started = Date.now();
  const res = await fetch(`${app.base}${path}`, init);
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  if (res.status >= 500 && res.status !== 504) {
    expect(text).not.toMatch(/ECONN|127\.0\.0\.1|timed out|terminat|connect|select|insert/i);
    expect(body).toMatchObject({
      error: { requestId: res.headers.get('x-request-id'), message: expect.any(String) },
    });
  }
  return { res, ms: Date.now() - started, body };
}

const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' };

/** What a client with a key calls besides webhooks, one request per route. */
function managementCalls(): [string, RequestInit][] {
  const authorization = `Bearer ${apiKey}`;
  const json = { authorization, 'content-type': 'application/json' };
  return [
    ['/v1/flows', { headers: { authorization } }],
    ['/v1/runs', { headers: { authorization } }],
    [`/v1/runs/${randomUUID()}`, { headers: { authorization } }],
    [`/v1/flows/${flowId}`, { headers: { authorization } }],
    ['/v1/flows', { method: 'POST', headers: json, body: JSON.stringify(doubleFlow) }],
    [
      '/v1/files?name=a.txt',
      { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'hello' },
    ],
    [`/v1/files/${randomUUID()}`, { headers: { authorization }, redirect: 'manual' }],
  ];
}

/** Every management route answers 503 database_unavailable with Retry-After, within `ms`. */
async function expectManagementUnavailable(app: { base: string }, ms: number) {
  const answers = await Promise.all(
    managementCalls().map(async ([path, init]) => ({
      call: `${init.method ?? 'GET'} ${path}`,
      ...(await timed(app, path, init)),
    })),
  );
  for (const { call, res, body, ms: took } of answers) {
    expect({ call, status: res.status, retryAfter: res.headers.get('retry-after') }).toEqual({
      call,
      status: 503,
      retryAfter: '1',
    });
    expect(body).toMatchObject({ error: { code: 'database_unavailable' } });
    expect(took).toBeLessThan(ms);
  }
}

/** Calls the async webhook until it answers 202; returns how long that took. */
async function untilAccepted(api: Api, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await api.request(`/v1/webhooks/${flowId}`, post);
    await res.body?.cancel();
    if (res.status === 202) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`still ${res.status}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('when Redis is down', () => {
  it('answers webhooks and readiness 503 with Retry-After within 1 s, cancels the refused run, and resumes within 5 s of Redis returning', async () => {
    const app = await startApi(redis.url);
    await untilAccepted(app.api, 5000);
    await redis.stop();

    for (const path of [`/v1/webhooks/${flowId}`, `/v1/webhooks/${flowId}/sync`]) {
      const { res, ms, body } = await timed(app, path, post);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(ms).toBeLessThan(1000);
      expect(body).toMatchObject({ error: { code: 'queue_unavailable' } });
    }
    const ready = await timed(app, '/v1/health/ready');
    expect(ready.res.status).toBe(503);
    expect(ready.ms).toBeLessThan(1000);

    // A refused run never runs: its row is canceled, so a late enqueue or the reconciler skips it.
    const rows = await querySql(
      pg.url,
      'select status, error from runs where flow_id = $1 order by created_at desc limit 2',
      [flowId],
    );
    expect(rows).toEqual([
      { status: 'canceled', error: ENQUEUE_FAILED },
      { status: 'canceled', error: ENQUEUE_FAILED },
    ]);

    await redis.start();
    expect(await untilAccepted(app.api, 5000)).toBeLessThan(5000);
    await app.close();
  });

  it('answers 202 with the runId when the enqueue fails but a worker already claimed the run', async () => {
    const app = await startApi(redis.url);
    await untilAccepted(app.api, 5000);
    // Stands in for a worker that claimed the run while its enqueue seemed to fail (it had
    // landed): the row is no longer unclaimed when the webhook tries to cancel it.
    await querySql(
      pg.url,
      `create function claim_at_once() returns trigger language plpgsql as $$
         begin new.status := 'running'; new.attempt := 1; return new; end $$`,
    );
    await querySql(
      pg.url,
      'create trigger claimed_at_once before insert on runs for each row execute function claim_at_once()',
    );
    await redis.stop();
    try {
      const { res, body } = await timed(app, `/v1/webhooks/${flowId}`, post);
      expect(res.status).toBe(202);
      expect(body).toEqual({ runId: expect.any(String) });
      const rows = await querySql(pg.url, 'select status, error from runs where id = $1', [
        body.runId,
      ]);
      expect(rows).toEqual([{ status: 'running', error: null }]);
    } finally {
      await querySql(pg.url, 'drop trigger claimed_at_once on runs');
      await querySql(pg.url, 'drop function claim_at_once()');
      await redis.start();
      await app.close();
    }
  });

  it('never cancels a run a repeat of its Idempotency-Key was answered 202 with, when the first enqueue then fails', async () => {
    // The first request's enqueue is held, then fails as on a Redis outage, while a repeat of
    // its key arrives: the repeat is answered from the committed row.
    let enqueueStarted!: () => void;
    const inEnqueue = new Promise<void>((started) => (enqueueStarted = started));
    let failEnqueue!: () => void;
    const enqueueFails = new Promise<void>((fail) => (failEnqueue = fail));
    const app = await startApi(redis.url, {
      queueAs: (queue) => ({
        ...queue,
        async enqueue() {
          enqueueStarted();
          await enqueueFails;
          throw new Error('Connection is closed.');
        },
      }),
    });
    const keyed = {
      ...post,
      headers: { ...post.headers, 'idempotency-key': `repeat-${randomUUID()}` },
    };
    try {
      const first = timed(app, `/v1/webhooks/${flowId}`, keyed);
      await inEnqueue;
      const repeat = await timed(app, `/v1/webhooks/${flowId}`, keyed);
      expect(repeat.res.status).toBe(202);
      failEnqueue();
      // The repeat's caller was told the run is accepted, so it stays queued (the reconciler
      // enqueues it), and the first caller is told the same run.
      const answered = await first;
      expect({ status: answered.res.status, body: answered.body }).toEqual({
        status: 202,
        body: repeat.body,
      });
      const rows = await querySql(pg.url, 'select status, error from runs where id = $1', [
        repeat.body.runId,
      ]);
      expect(rows).toEqual([{ status: 'queued', error: null }]);
    } finally {
      await app.close();
    }
  });

  it('answers a sync waiter 504 at the webhook timeout when Redis dies mid-wait, never later', async () => {
    const app = await startApi(redis.url);
    const started = Date.now();
    const pending = app.api.request(`/v1/webhooks/${flowId}/sync`, post); // no worker: it waits
    await new Promise((done) => setTimeout(done, 300));
    await redis.stop();
    const res = await pending;
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2000 + 1000);
    await redis.start();
    await app.close();
  });
});

describe('when Redis hangs (accepts connections, never answers)', () => {
  it('answers the webhook 503 within 1 s', async () => {
    const silent = await startSilentServer();
    const app = await startApi(`redis://127.0.0.1:${silent.port}`, { subscribe: false });
    // A running APP, not a cold one: the first request's pool connect is not what is timed.
    const warm = await fetch(`${app.base}/v1/flows/${flowId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(warm.status).toBe(200);
    const { res, ms } = await timed(app, `/v1/webhooks/${flowId}`, post);
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(1000);
    await app.close();
    await silent.close();
  });
});

describe('when PostgreSQL is down', () => {
  it('answers webhooks and readiness 503 within 1 s, and resumes within 5 s of PostgreSQL returning with the same pool', async () => {
    const app = await startApi(redis.url);
    await untilAccepted(app.api, 5000);
    await pg.stop();

    const hook = await timed(app, `/v1/webhooks/${flowId}`, post);
    expect(hook.res.status).toBe(503);
    expect(hook.res.headers.get('retry-after')).toBe('1');
    expect(hook.ms).toBeLessThan(1000);
    expect(hook.body).toMatchObject({ error: { code: 'database_unavailable' } });
    const ready = await timed(app, '/v1/health/ready');
    expect(ready.res.status).toBe(503);
    expect(ready.ms).toBeLessThan(1000);

    await pg.start();
    expect(await untilAccepted(app.api, 5000)).toBeLessThan(5000);
    await app.close();
  });

  it('answers every management route, and the key lookup before it, 503 with Retry-After', async () => {
    const app = await startApi(redis.url);
    await pg.stop();
    try {
      await expectManagementUnavailable(app, 1000);
    } finally {
      await pg.start();
      await app.close();
    }
  });
});

describe('when PostgreSQL hangs (accepts connections, never answers)', () => {
  it('answers webhooks and every management route 503 with Retry-After once the pool connect timeout ends', async () => {
    const silent = await startSilentServer();
    const app = await startApi(redis.url, {
      databaseUrl: `postgres://postgres@127.0.0.1:${silent.port}/postgres`,
    });
    try {
      // The pool gives up connecting after 2 s; requests waiting for a connection with it.
      const [hook] = await Promise.all([
        timed(app, `/v1/webhooks/${flowId}`, post),
        expectManagementUnavailable(app, 2000 + 1000),
      ]);
      expect(hook.res.status).toBe(503);
      expect(hook.res.headers.get('retry-after')).toBe('1');
      expect(hook.body).toMatchObject({ error: { code: 'database_unavailable' } });
      expect(hook.ms).toBeLessThan(2000 + 1000);
    } finally {
      await app.close();
      await silent.close();
    }
  });
});
