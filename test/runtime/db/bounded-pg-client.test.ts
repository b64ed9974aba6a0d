import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedDependency } from '../../../runtime/api/dependency-failure';
import { connectPostgres, type DatabaseHandle } from '../../../runtime/db/client';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres';

let pg: ThrowawayPostgres;
let database: DatabaseHandle;

beforeAll(async () => {
  pg = await startThrowawayPostgres();
  // One connection: a slot the hang kept for good would starve every later query.
  database = connectPostgres({ url: pg.url, poolSize: 1, idleTimeoutMs: 60_000 });
  await database.db.execute(sql`select 1`);
}, 60_000);

afterAll(async () => {
  await database?.close().catch(() => {});
  await pg?.destroy();
});

/** The error `work` rejects with, and after how long. */
async function failure(work: Promise<unknown>) {
  const started = performance.now();
  const error = await work.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  return { error, ms: performance.now() - started };
}

describe('when PostgreSQL hangs on a connected client', () => {
  it('fails a transaction and a query as the database unavailable within the 2 s bound, and gives the pool slot back', async () => {
    await pg.pause();
    try {
      // On the connected client. drizzle sends `begin` outside its try, so it never releases
      // a client whose begin failed.
      const transaction = await failure(
        database.db.transaction(async (tx) => tx.execute(sql`select 1`)),
      );
      expect(failedDependency(transaction.error)).toBe('database');
      expect(transaction.ms).toBeLessThan(2000 + 1500);
      // On a new connection, which the kernel accepts and nobody answers.
      const query = await failure(database.db.execute(sql`select 1`));
      expect(failedDependency(query.error)).toBe('database');
      expect(query.ms).toBeLessThan(2000 + 1500);
    } finally {
      await pg.resume();
    }
    // The pool's only slot is free again: the next query gets a new connection and an answer.
    const result = (await database.db.execute(sql`select 1 as one`)) as { rows: unknown[] };
    expect(result.rows).toEqual([{ one: 1 }]);
  });
});

describe('the query bound (SLUICE_DB_QUERY_TIMEOUT_MS)', () => {
  it('fails a query slower than the default 2 s, and lets it finish when raised', async () => {
    const slow = sql`select pg_sleep(2.5)`;
    const bounded = await failure(database.db.execute(slow));
    expect(failedDependency(bounded.error)).toBe('database');
    const patient = connectPostgres({
      url: pg.url,
      poolSize: 1,
      idleTimeoutMs: 60_000,
      queryTimeoutMs: 5000,
    });
    try {
      const raised = await failure(patient.db.execute(slow));
      expect(raised.error).toBeNull();
    } finally {
      await patient.close();
    }
  });
});

describe('a statement the query bound gave up on', () => {
  it('is canceled in PostgreSQL too, so a write answered as failed never commits later', async () => {
    // GIVEN a row another transaction holds, and a pool bounded at 500 ms
    await database.db.execute(sql`create table bound_probe (id int primary key, v int)`);
    await database.db.execute(sql`insert into bound_probe values (1, 0)`);
    const holder = connectPostgres({ url: pg.url, poolSize: 1, idleTimeoutMs: 60_000 });
    const bounded = connectPostgres({
      url: pg.url,
      poolSize: 1,
      idleTimeoutMs: 60_000,
      queryTimeoutMs: 500,
    });
    try {
      let release = () => {};
      const released = new Promise<void>((done) => {
        release = done;
      });
      let held = () => {};
      const holding = new Promise<void>((done) => {
        held = done;
      });
      const holdingTransaction = holder.db.transaction(async (tx) => {
        await tx.execute(sql`update bound_probe set v = 1 where id = 1`);
        held();
        await released;
      });
      await holding;

      // WHEN a write waits on that row past the bound
      const write = await failure(
        bounded.db.execute(sql`update bound_probe set v = 2 where id = 1`),
      );
      expect(failedDependency(write.error)).toBe('database');
      release();
      await holdingTransaction;
      await new Promise((done) => setTimeout(done, 500));

      // THEN the write the caller was told failed did not happen afterwards
      const result = (await database.db.execute(sql`select v from bound_probe`)) as {
        rows: unknown[];
      };
      expect(result.rows).toEqual([{ v: 1 }]);
    } finally {
      await Promise.all([holder.close(), bounded.close()]);
      await database.db.execute(sql`drop table if exists bound_probe`);
    }
  });
});
