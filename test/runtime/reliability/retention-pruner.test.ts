import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { createRetentionPruner } from '../../../runtime/reliability/retention-pruner';
import { storageKey } from '../../../runtime/storage';
import { createS3FileStore, type S3FileStore } from '../../../runtime/storage/s3-file-store';
import { createTestDatabase, type TestDatabase, withPgClient } from '../../support/database';
import { type RunningS3rver, startS3rver } from '../../support/s3rver';

const OLD_RUNS = 100_000;
const LOGGED_RUNS = 250;

let database: TestDatabase;
let s3: RunningS3rver;
let store: S3FileStore;
let projectId: string;
let defaultFlow: { id: string; versionId: string };
let shortFlow: { id: string; versionId: string };

const count = async (where: ReturnType<typeof sql>) => {
  const result = (await database.handle.db.execute(
    sql`select count(*)::int as n from runs where ${where}`,
  )) as unknown as { rows: { n: number }[] };
  return result.rows[0]?.n ?? -1;
};

/** Inserts `n` runs of `flow` with `status`, created `daysAgo` days ago; the first `logged` get a log key. */
async function insertRuns(
  flow: { id: string; versionId: string },
  n: number,
  status: string,
  daysAgo: number,
  tag: string,
  logged = 0,
) {
  // One connection of its own: the pool bounds each query at 2 s, and 100k rows take longer.
  await withPgClient(database.url, (client) =>
    client.query(
      `insert into runs (id, project_id, flow_id, flow_version_id, status, trigger, created_at, log_key)
       select $1 || '-' || g, $2, $3, $4, $5, '{}'::jsonb,
              now() - make_interval(days => $6) + make_interval(secs => g),
              case when g <= $7 then 'project/' || $2 || '/RUN_LOG/' || $1 || '-' || g end
         from generate_series(1, $8::int) as g`,
      [tag, projectId, flow.id, flow.versionId, status, daysAgo, logged, n],
    ),
  );
}

beforeAll(async () => {
  [database, s3] = await Promise.all([createTestDatabase(), startS3rver()]);
  store = createS3FileStore({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: s3.credentials,
  });
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  }));
  const definition = { name: 'f', trigger: { type: 'webhook' }, steps: [] };
  defaultFlow = await createFlow(database.handle.db, {
    projectId,
    name: 'default',
    definition,
    webhookSecret: null,
  });
  shortFlow = await createFlow(database.handle.db, {
    projectId,
    name: 'short',
    definition,
    webhookSecret: null,
    runRetentionDays: 1,
  });
  await insertRuns(defaultFlow, OLD_RUNS, 'succeeded', 40, 'old', LOGGED_RUNS);
  await insertRuns(defaultFlow, 20, 'queued', 40, 'oldqueued');
  await insertRuns(defaultFlow, 20, 'running', 40, 'oldrunning');
  await insertRuns(defaultFlow, 30, 'failed', 10, 'recent');
  await insertRuns(shortFlow, 30, 'failed', 10, 'short');
  for (let g = 1; g <= LOGGED_RUNS; g++) {
    await store.put(storageKey(projectId, 'RUN_LOG', `old-${g}`), '{}');
  }
}, 120_000);
afterAll(async () => {
  await database?.drop();
  await s3?.close();
});

describe('retention pruning', () => {
  it('prunes 100k old ended runs and their logs while new runs arrive, and never a queued or running one', async () => {
    const prune = createRetentionPruner({
      db: database.handle.db,
      store,
      logger: pino({ level: 'silent' }),
      runRetentionDays: 30,
      fileRetentionDays: 0,
    });
    // Webhooks keep arriving and workers keep moving runs along (and the old running ones
    // keep being written, as a live worker would) for as long as the pruner works.
    let pruning = true;
    let arrived = 0;
    const traffic = (async () => {
      while (pruning) {
        const id = `new-${randomUUID()}`;
        await database.handle.db.execute(sql`
          insert into runs (id, project_id, flow_id, flow_version_id, status, trigger)
          values (${id}, ${projectId}, ${defaultFlow.id}, ${defaultFlow.versionId}, 'queued', '{}')`);
        await database.handle.db.execute(
          sql`update runs set status = 'running', attempt = attempt + 1 where id = ${id}`,
        );
        await database.handle.db.execute(
          sql`update runs set attempt = attempt + 1 where status = 'running' and id like 'oldrunning-%'`,
        );
        await database.handle.db.execute(
          sql`update runs set status = 'succeeded' where id = ${id}`,
        );
        arrived++;
      }
    })();

    const started = performance.now();
    let pruned = 0;
    let passes = 0;
    try {
      for (;;) {
        const pass = await prune();
        passes++;
        pruned += pass.runs;
        if (pass.runs === 0) break;
      }
    } finally {
      pruning = false;
      await traffic;
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `pruned ${pruned} runs in ${seconds.toFixed(1)} s (${Math.round(pruned / seconds)} rows/s, ${passes} passes) while ${arrived} new runs arrived`,
    );

    expect(pruned).toBe(OLD_RUNS + 30);
    expect(passes).toBeGreaterThan(1);
    expect(arrived).toBeGreaterThan(0);
    expect(await count(sql`id like 'old-%'`)).toBe(0);
    expect(await count(sql`id like 'short-%'`)).toBe(0);
    expect(await count(sql`id like 'oldqueued-%' and status = 'queued'`)).toBe(20);
    expect(await count(sql`id like 'oldrunning-%' and status = 'running'`)).toBe(20);
    expect(await count(sql`id like 'recent-%'`)).toBe(30);
    expect(await count(sql`id like 'new-%'`)).toBe(arrived);
    for (const g of [1, 100, 101, LOGGED_RUNS]) {
      expect(await store.head(storageKey(projectId, 'RUN_LOG', `old-${g}`))).toBeNull();
    }
  }, 120_000);

  it('deletes uploaded files past SLUICE_FILE_RETENTION_DAYS, and keeps them when it is 0', async () => {
    const key = storageKey(projectId, 'FILE', 'old-file');
    await store.put(key, 'bytes');
    await database.handle.db.execute(sql`
      insert into files (id, project_id, kind, key, size, created_at)
      values ('old-file', ${projectId}, 'FILE', ${key}, 5, now() - interval '8 days')`);
    const pruner = (fileRetentionDays: number) =>
      createRetentionPruner({
        db: database.handle.db,
        store,
        logger: pino({ level: 'silent' }),
        runRetentionDays: 30,
        fileRetentionDays,
      });
    expect((await pruner(0)()).files).toBe(0);
    expect((await pruner(10)()).files).toBe(0);
    expect((await pruner(7)()).files).toBe(1);
    expect(await store.head(key)).toBeNull();
  });
});
