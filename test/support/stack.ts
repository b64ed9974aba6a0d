import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { createApi } from '../../runtime/api/app';
import { createProjectWithKey, generateApiKey } from '../../runtime/db/project-store';
import { type Env, parseEnv } from '../../runtime/env';
import {
  createFileStore,
  createLiveWorkers,
  createQueueBoardIfEnabled,
  createQueueDriver,
  createReplyBus,
  openSecretStore,
} from '../../runtime/parts';
import { startWorker } from '../../runtime/roles/worker';
import type { DataKeys } from '../../runtime/secrets/data-keys';
import { createSecretStore } from '../../runtime/secrets/secret-store';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from './database';

export interface TestStack {
  env: Env;
  api: ReturnType<typeof createApi>;
  database: TestDatabase;
  apiKey: string;
  projectId: string;
  /** `app.request` with the API key and a JSON body. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The APP (and optionally a worker) in this process, on real PostgreSQL and Redis with a
 * fresh database and queue prefix, and local file storage in a temp directory.
 */
export async function startTestStack(
  overrides: Record<string, string> = {},
  {
    worker = true,
    logger = pino({ level: 'silent' }),
    secretsKeys,
  }: {
    worker?: boolean;
    logger?: Logger;
    /** The secrets' key-encryption key (a KMS stub's, say) instead of the environment's. */
    secretsKeys?: DataKeys;
  } = {},
): Promise<TestStack> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-test-'));
  // SLUICE_QUEUE=sqs in the overrides leaves Redis out entirely.
  const queue =
    overrides.SLUICE_QUEUE === 'sqs'
      ? {}
      : { REDIS_URL: 'redis://127.0.0.1:6379', SLUICE_QUEUE_PREFIX: randomQueuePrefix() };
  const env = parseEnv({
    DATABASE_URL: database.url,
    ...queue,
    SLUICE_DATA_DIR: dataDir,
    SLUICE_HTTP_ALLOW_PRIVATE: 'true',
    SLUICE_PUBLIC_URL: 'http://sluice.test',
    ...overrides,
  });
  const driver = await createQueueDriver(env, logger, database.handle.db);
  const replies = await createReplyBus(env, `test-${Date.now()}`, {
    subscribe: true,
    db: database.handle.db,
  });
  const { store, localStore } = createFileStore(env);
  const queueBoard = await createQueueBoardIfEnabled(env);
  const liveWorkers = createLiveWorkers(env, database.handle.db);
  const secrets =
    secretsKeys === undefined
      ? await openSecretStore(env, database.handle)
      : createSecretStore(database.handle.db, secretsKeys);
  const api = createApi({
    queueBoard: queueBoard?.app,
    liveWorkers,
    env,
    database: database.handle,
    queue: driver.queue,
    replies,
    store,
    localStore,
    secrets,
    logger,
  });
  const running = worker
    ? startWorker({ env, db: database.handle.db, driver, store, secrets, replies, logger })
    : null;
  const apiKey = generateApiKey();
  const { projectId } = await createProjectWithKey(database.handle.db, { name: 'test', apiKey });

  return {
    env,
    api,
    database,
    apiKey,
    projectId,
    call(method, path, body, headers = {}) {
      return Promise.resolve(
        api.request(path, {
          method,
          headers: {
            authorization: `Bearer ${apiKey}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body === undefined
            ? {}
            : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        }),
      );
    },
    async close() {
      await running?.close();
      await queueBoard?.close();
      await liveWorkers.close();
      await replies.close();
      await driver.queue.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
