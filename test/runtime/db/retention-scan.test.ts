import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { deleteExpiredFiles, deleteExpiredRuns } from '../../../runtime/db/retention-store';
import { createTestDatabase, type TestDatabase, withPgClient } from '../../support/database';

const RECENT_RUNS = 50_000;
const RECENT_FILES = 50_000;

let database: TestDatabase;
/** One connection, so that this test reads the statistics of the very session that pruned. */
let single: DatabaseHandle;
let projectId: string;
let weekFlow: { id: string; versionId: string };

const rows = async <T>(query: ReturnType<typeof sql>) =>
  ((await single.db.execute(query)) as unknown as { rows: T[] }).rows;

/** Index entries of the pruner's partial index that one call of deleteExpiredRuns read. */
async function entriesReadBy(run: () => Promise<unknown>): Promise<number> {
  await rows(sql`select pg_stat_reset()`);
  await run();
  await rows(sql`select pg_stat_force_next_flush()`);
  const [stat] = await rows<{ n: string }>(sql`
    select idx_tup_read::text as n from pg_stat_user_indexes
    where indexrelname = 'runs_ended_created_idx'`);
  return Number(stat?.n);
}

beforeAll(async () => {
  database = await createTestDatabase();
  single = connectPostgres({ url: database.url, poolSize: 1, idleTimeoutMs: 10_000 });
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  }));
  const definition = { name: 'f', trigger: { type: 'webhook' }, steps: [] };
  const defaultFlow = await createFlow(database.handle.db, {
    projectId,
    name: 'default',
    definition,
    webhookSecret: null,
  });
  weekFlow = await createFlow(database.handle.db, {
    projectId,
    name: 'week',
    definition,
    webhookSecret: null,
    runRetentionDays: 7,
  });
  // The steady state: every ended run within its retention (the last 5 days), none to prune.
  await withPgClient(database.url, (client) =>
    client.query(
      `insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, created_at)
       select 'recent-' || g, $1, $2, $3, 'succeeded', '{}'::jsonb,
              now() - make_interval(secs => g * 8)
         from generate_series(1, $4::int) as g`,
      [projectId, defaultFlow.id, defaultFlow.versionId, RECENT_RUNS],
    ),
  );
  await withPgClient(database.url, (client) =>
    client.query(
      `insert into files (id, project_id, kind, key, size, created_at)
       select 'file-' || g, $1, 'FILE', 'project/p/FILE/' || g, 1,
              now() - make_interval(secs => g * 8)
         from generate_series(1, $2::int) as g`,
      [projectId, RECENT_FILES],
    ),
  );
  await withPgClient(database.url, (client) => client.query('analyze runs, files'));
}, 120_000);

afterAll(async () => {
  await single?.close();
  await database?.drop();
});

describe('the retention scan', () => {
  it('reads only runs older than the shortest retention in use, not every ended run, on a pass with nothing to prune', async () => {
    const read = await entriesReadBy(() => deleteExpiredRuns(single.db, 30, 1000));
    // Before: all 50,000 index entries (and a flow lookup each), every pass, every 10 s.
    expect(read).toBeLessThan(1000);
  });

  it('still prunes by each flow’s own retention', async () => {
    await rows(sql`
      insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, created_at)
      values ('week-old', ${projectId}, ${weekFlow.id}, ${weekFlow.versionId}, 'failed', '{}', now() - interval '8 days'),
             ('week-live', ${projectId}, ${weekFlow.id}, ${weekFlow.versionId}, 'running', '{}', now() - interval '8 days')`);
    const read = await entriesReadBy(async () => {
      expect((await deleteExpiredRuns(single.db, 30, 1000)).deleted).toBe(1);
    });
    expect(read).toBeLessThan(1000);
    const left = await rows<{ id: string }>(sql`select id from runs where id like 'week-%'`);
    expect(left.map((row) => row.id)).toEqual(['week-live']);
  });

  it('finds expired uploaded files through an index, not by reading and sorting every file', async () => {
    await rows(sql`select pg_stat_reset()`);
    expect(await deleteExpiredFiles(single.db, 30, 1000)).toEqual([]);
    await rows(sql`select pg_stat_force_next_flush()`);
    const [stat] = await rows<{ n: string }>(sql`
      select seq_tup_read::text as n from pg_stat_user_tables where relname = 'files'`);
    // Before: a sequential scan and a sort of all 50,000 files, every pass, every 10 s.
    expect(Number(stat?.n)).toBe(0);
  });
});
