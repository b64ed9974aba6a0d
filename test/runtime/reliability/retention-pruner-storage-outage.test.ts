import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { createRetentionPruner } from '../../../runtime/reliability/retention-pruner';
import { createS3FileStore } from '../../../runtime/storage/s3-file-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startSilentServer } from '../../support/silent-server';

/**
 * The pruner runs inside the reconciler's pass (re-enqueueing lost runs, recovering those of
 * dead workers), so a storage outage must cost a pass one failed delete, not one per batch.
 */
let database: TestDatabase;
let silent: Awaited<ReturnType<typeof startSilentServer>>;
let projectId: string;

const EXPIRED_RUNS = 50;
const BATCH = 10;

beforeAll(async () => {
  [database, silent] = await Promise.all([createTestDatabase(), startSilentServer()]);
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  }));
  const flow = await createFlow(database.handle.db, {
    projectId,
    name: 'f',
    definition: { name: 'f', trigger: { type: 'webhook' }, steps: [] },
    webhookSecret: null,
  });
  await database.handle.db.execute(sql`
    insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, created_at, log_key)
    select 'old-' || g, ${projectId}, ${flow.id}, ${flow.versionId}, 'succeeded', '{}'::jsonb,
           now() - interval '40 days' + make_interval(secs => g),
           'project/' || ${projectId} || '/RUN_LOG/old-' || g
      from generate_series(1, ${EXPIRED_RUNS}::int) as g`);
});
afterAll(async () => {
  await silent?.close();
  await database?.drop();
});

describe('retention pruning when S3 accepts connections but never answers', () => {
  it('stops deleting at the first failed delete, keeping the other expired runs for a later pass', async () => {
    const hung = createS3FileStore({
      bucket: 'b',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${silent.port}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestTimeoutMs: 300,
    });
    const prune = createRetentionPruner({
      db: database.handle.db,
      store: hung,
      logger: pino({ level: 'silent' }),
      runRetentionDays: 30,
      fileRetentionDays: 0,
      batchSize: BATCH,
    });

    const pass = await prune();

    // One DeleteObjects, given up after its bounded attempts: the reconciler waits for no more.
    expect(silent.accepted()).toBe(3);
    expect(pass.runs).toBe(BATCH);
    const left = (await database.handle.db.execute(
      sql`select count(*)::int as n from runs where log_key is not null`,
    )) as unknown as { rows: { n: number }[] };
    expect(left.rows[0]?.n).toBe(EXPIRED_RUNS - BATCH);
  });
});
