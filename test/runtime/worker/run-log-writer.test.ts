import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import { runs } from '../../../runtime/db/schema';
import { storageKey } from '../../../runtime/storage';
import { createS3FileStore } from '../../../runtime/storage/s3-file-store';
import { createRunLogWriter } from '../../../runtime/worker/run-log-writer';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { doubleFlow } from '../../support/flows';
import { type RunningS3rver, startS3rver } from '../../support/s3rver';

let database: TestDatabase;
let s3: RunningS3rver;
let projectId: string;
let flow: { id: string; versionId: string };

beforeAll(async () => {
  database = await createTestDatabase();
  s3 = await startS3rver();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'logs',
    apiKey: generateApiKey(),
  }));
  flow = await createFlow(database.handle.db, {
    projectId,
    name: 'double',
    definition: doubleFlow,
    webhookSecret: null,
  });
});
afterAll(async () => {
  await s3.close();
  await database.drop();
});

async function recordedRun(): Promise<{ runId: string; key: string }> {
  const runId = randomUUID();
  const key = storageKey(projectId, 'RUN_LOG', runId);
  await insertQueuedRun(database.handle.db, {
    id: runId,
    projectId,
    flowId: flow.id,
    flowVersionId: flow.versionId,
    trigger: {},
  });
  await database.handle.db.update(runs).set({ logKey: key }).where(eq(runs.id, runId));
  return { runId, key };
}

const logKeyOf = async (runId: string) =>
  (await database.handle.db.select({ logKey: runs.logKey }).from(runs).where(eq(runs.id, runId)))[0]
    ?.logKey;

describe('run log writer', () => {
  it('stores logs in the background and drains them on demand', async () => {
    const store = createS3FileStore({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: s3.credentials,
    });
    const writer = createRunLogWriter({
      db: database.handle.db,
      store,
      logger: pino({ level: 'silent' }),
    });
    const run = await recordedRun();
    await writer.write({ runId: run.runId, attempt: 0, key: run.key, body: '{"ok":true}' });
    await writer.drain();
    expect(new TextDecoder().decode(await store.get(run.key))).toBe('{"ok":true}');
    expect(await logKeyOf(run.runId)).toBe(run.key);
  });

  it('clears the run’s log key when storage refuses the upload', async () => {
    const unreachable = createS3FileStore({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: 'http://127.0.0.1:9',
      credentials: s3.credentials,
      requestTimeoutMs: 500,
    });
    const writer = createRunLogWriter({
      db: database.handle.db,
      store: unreachable,
      logger: pino({ level: 'silent' }),
    });
    const run = await recordedRun();
    await writer.write({ runId: run.runId, attempt: 0, key: run.key, body: '{}' });
    await writer.drain();
    expect(await logKeyOf(run.runId)).toBeNull();
  }, 20_000);
});
