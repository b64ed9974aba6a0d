import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../../runtime/api/on-error';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { redisOptions } from '../../../runtime/queue/redis-options';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { freePort } from '../../support/processes';

let live: TestDatabase;
let gone: DatabaseHandle;
let goneRedis: Redis;

beforeAll(async () => {
  live = await createTestDatabase({ migrate: false });
  const port = await freePort(); // nothing listens there: connections are refused
  gone = connectPostgres({
    url: `postgres://postgres@127.0.0.1:${port}/x`,
    poolSize: 1,
    idleTimeoutMs: 1000,
  });
  goneRedis = new Redis({
    ...redisOptions({ url: `redis://127.0.0.1:${port}` }, 'request'),
    lazyConnect: true,
  });
  goneRedis.on('error', () => {}); // the refused connections are the point
});
afterAll(async () => {
  goneRedis?.disconnect();
  await gone?.close().catch(() => {});
  await live?.drop();
});

/** An app whose one route fails as `fail` does, answered by the real error handler. */
async function answerTo(fail: () => Promise<unknown>) {
  const app = new Hono();
  app.onError(errorHandler(pino({ level: 'silent' })));
  app.use(requestId());
  app.get('/', async (c) => c.json(await fail()));
  const res = await app.request('/');
  return { res, body: (await res.json()) as { error: Record<string, unknown> } };
}

describe('an error that reports a dependency down', () => {
  it('answers 503 database_unavailable with Retry-After when PostgreSQL refuses connections', async () => {
    const { res, body } = await answerTo(() => gone.db.execute(sql`select 1`));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(body.error).toEqual({
      code: 'database_unavailable',
      message: 'database is unavailable; retry',
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('answers 503 queue_unavailable with Retry-After when Redis refuses connections', async () => {
    const { res, body } = await answerTo(() => goneRedis.get('k'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(body.error).toMatchObject({ code: 'queue_unavailable' });
  });
});

describe('an error that is a bug', () => {
  it('answers 500 internal without Retry-After when the code throws', async () => {
    const { res, body } = await answerTo(async () => (undefined as unknown as { a: 1 }).a);
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(body.error).toMatchObject({ code: 'internal', message: 'internal error' });
  });

  it('answers 500 internal when PostgreSQL is up and rejects the statement', async () => {
    const { res, body } = await answerTo(() =>
      live.handle.db.execute(sql`select * from no_such_table`),
    );
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(body.error).toMatchObject({ code: 'internal' });
  });
});
