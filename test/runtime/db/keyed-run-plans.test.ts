import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey } from '../../../runtime/db/project-store';
import { canceledAmong, cancelRun, recordCanceledRun } from '../../../runtime/db/run-control-store';
import {
  findRun,
  finishQueuedRun,
  finishRun,
  insertWebhookRuns,
  startRun,
} from '../../../runtime/db/run-store';
import { createTestDatabase, type TestDatabase, withPgClient } from '../../support/database';

// A worker's fenced updates and the API's lookups find one run by id. Whatever the statistics
// say, they must reach it through the primary key: another index (the unfinished runs', or the
// project's) made each of them scan every entry of the project or every unfinished run.

let database: TestDatabase;
let projectId: string;
let flowId: string;
let versionId: string;

/** Enough ended runs that a scan of the project's entries is not a key lookup. */
const ENDED_RUNS = 3000;
/** Past PostgreSQL's first five custom plans, so a prepared statement's generic plan is used. */
const CALLS_PER_STATEMENT = 8;

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database.handle;
  ({ projectId } = await createProjectWithKey(db, {
    name: 'p',
    apiKey: 'sk_test_plans_0123456789abcdef',
  }));
  ({ id: flowId, versionId } = await createFlow(db, {
    projectId,
    name: 'n',
    definition: {},
    webhookSecret: null,
  }));
});

/** Runs that ended, as a busy table holds many of: one project's, one flow's. */
async function addEndedRuns() {
  await database.handle.db.execute(sql`
    insert into runs (id, project_id, flow_id, flow_version_id, status, attempt, trigger, finished_at)
    select gen_random_uuid()::text, ${projectId}, ${flowId}, ${versionId}, 'succeeded', 1, '{}', now()
      from generate_series(1, ${ENDED_RUNS})`);
}
afterAll(async () => {
  await database.drop();
});

const outcome = {
  status: 'succeeded' as const,
  error: null,
  failedStep: null,
  logKey: null,
  logBody: '{}',
  responseStatus: 200,
  response: { ok: true },
  steps: [],
  dispatchMs: 1,
};

/** Index scans on runs, per index, as PostgreSQL's cumulative statistics count them. */
async function runIndexScans(): Promise<Record<string, number>> {
  return withPgClient(database.url, async (client) => {
    const { rows } = await client.query<{ name: string; scans: string }>(
      `select indexrelname as name, idx_scan as scans from pg_stat_user_indexes where relname = 'runs'`,
    );
    return Object.fromEntries(rows.map((row) => [row.name, Number(row.scans)]));
  });
}

/** One session, as a worker or the APP holds it; statements it prepares keep their plans. */
const openSession = () => connectPostgres({ url: database.url, poolSize: 1, idleTimeoutMs: 1000 });

/** Every keyed statement on runs, CALLS_PER_STATEMENT times, on `db`; answers how many ran. */
async function runKeyedStatements({ db }: DatabaseHandle): Promise<number> {
  let keyed = 0;
  for (let i = 0; i < CALLS_PER_STATEMENT; i++) {
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await insertWebhookRuns(
      db,
      ids.map((id) => ({ id, flowId, triggerJson: '{}', webhookSecret: null })),
    );
    const [claimed, unclaimed, canceled] = ids as [string, string, string];
    const started = await startRun(db, claimed);
    expect(await finishRun(db, claimed, started?.attempt ?? -1, outcome)).toBe(true);
    const copy = { projectId, flowVersionId: versionId, attempt: 0 };
    expect(await finishQueuedRun(db, unclaimed, copy, { ...outcome, flowMs: 1 })).toBe(true);
    expect(await cancelRun(db, projectId, canceled)).toEqual({ canceled: true });
    expect(await canceledAmong(db, [canceled])).toEqual([canceled]);
    const record = { failedStep: null, logKey: null, logBody: '{}', steps: [], dispatchMs: null };
    expect(await recordCanceledRun(db, canceled, 0, record)).toBe(true);
    expect((await findRun(db, projectId, claimed))?.status).toBe('succeeded');
    keyed += 7;
  }
  return keyed;
}

async function expectOnlyKeyLookups(before: Record<string, number>, keyed: number) {
  let after = await runIndexScans();
  for (let waited = 0; (after.runs_pkey ?? 0) - (before.runs_pkey ?? 0) < keyed; waited += 100) {
    if (waited > 10_000) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await runIndexScans();
  }
  const scans = Object.fromEntries(
    Object.keys(after).map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]),
  );
  expect(scans).toEqual({
    runs_pkey: keyed,
    runs_project_created_idx: 0,
    runs_flow_created_idx: 0,
    runs_unfinished_idx: 0,
    runs_ended_created_idx: 0,
    runs_flow_idempotency_key_idx: 0,
    runs_flow_scheduled_at_idx: 0,
  });
}

describe('statements that find a run by id', () => {
  it('use the primary key in a session that prepared them while the table was empty (a new install)', async () => {
    const before = await runIndexScans();
    const session = openSession();
    let keyed = 0;
    try {
      keyed += await runKeyedStatements(session);
      await addEndedRuns();
      keyed += await runKeyedStatements(session);
    } finally {
      // A session's statistics reach the shared counters when it ends, at the latest.
      await session.close();
    }
    await expectOnlyKeyLookups(before, keyed);
  });

  it('use the primary key once the statistics say almost no run is queued or running', async () => {
    await withPgClient(database.url, (client) => client.query('analyze runs'));
    const before = await runIndexScans();
    const session = openSession();
    let keyed = 0;
    try {
      keyed = await runKeyedStatements(session);
    } finally {
      await session.close();
    }
    await expectOnlyKeyLookups(before, keyed);
  });
});
