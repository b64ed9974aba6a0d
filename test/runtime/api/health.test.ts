import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../../runtime/api/app';
import { connectPostgres } from '../../../runtime/db/client';
import { parseEnv } from '../../../runtime/env';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { testSecretStore } from '../../support/secrets';
import { startSilentServer } from '../../support/silent-server';

type Api = ReturnType<typeof createApi>;

async function apiWith(databaseUrl: string, redisUrl: string) {
  const env = parseEnv({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: '/tmp/sluice-health-test',
  });
  const logger = pino({ level: 'silent' });
  const database = connectPostgres({ url: databaseUrl, poolSize: 2, idleTimeoutMs: 1000 });
  const driver = await createQueueDriver(env, logger);
  const replies = await createReplyBus(env, 'health-test', { subscribe: false });
  const { store } = createFileStore(env);
  const api = createApi({
    env,
    database,
    queue: driver.queue,
    replies,
    store,
    secrets: testSecretStore(database.db),
    logger,
  });
  return {
    api,
    close: async () => {
      await replies.close();
      await driver.queue.close();
      await database.close().catch(() => {});
    },
  };
}

async function timedGet(api: Api, path: string) {
  const started = Date.now();
  const res = await api.request(path);
  return { res, ms: Date.now() - started, body: (await res.json()) as Record<string, unknown> };
}

let db: TestDatabase;
let silent: Awaited<ReturnType<typeof startSilentServer>>;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent.close();
  await db.drop();
});

describe('GET /v1/health/ready', () => {
  it('answers 200 when PostgreSQL and Redis answer', async () => {
    const stack = await apiWith(db.url, 'redis://127.0.0.1:6379');
    const { res, body } = await timedGet(stack.api, '/v1/health/ready');
    expect(res.status).toBe(200);
    expect(body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    await stack.close();
  });

  it('answers 503 within 1 s when PostgreSQL hangs', async () => {
    const stack = await apiWith(
      `postgres://postgres@127.0.0.1:${silent.port}/x`,
      'redis://127.0.0.1:6379',
    );
    const { res, ms, body } = await timedGet(stack.api, '/v1/health/ready');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(ms).toBeLessThan(1000);
    expect(body).toMatchObject({
      error: {
        code: 'not_ready',
        details: { redis: 'ok', postgres: 'down' },
      },
    });
    const live = await timedGet(stack.api, '/v1/health');
    expect(live.res.status).toBe(200);
    await stack.close();
  });

  it('answers 503 within 1 s when Redis hangs', async () => {
    const stack = await apiWith(db.url, `redis://127.0.0.1:${silent.port}`);
    const { res, ms, body } = await timedGet(stack.api, '/v1/health/ready');
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(1000);
    expect(body).toMatchObject({
      error: { details: { postgres: 'ok', redis: 'down' } },
    });
    await stack.close();
  });
});
