import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const MIGRATIONS = 'runtime/db/migrations';

interface Journal {
  entries: { idx: number; tag: string }[];
}
const journal = async (): Promise<Journal> =>
  JSON.parse(await readFile(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as Journal;

/** A copy of the migrations folder that stops before the last migration. */
async function allButLast(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-migrations-'));
  await cp(MIGRATIONS, dir, { recursive: true });
  const full = await journal();
  await writeFile(
    join(dir, 'meta', '_journal.json'),
    JSON.stringify({ ...full, entries: full.entries.slice(0, -1) }),
  );
  return dir;
}

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  it('apply in order on an empty database and record every journal entry', async () => {
    database = await createTestDatabase({ migrate: false });
    await database.handle.migrate();
    const applied = await query<{ n: string }>(
      database.url,
      'select count(*) as n from drizzle.__drizzle_migrations',
    );
    expect(Number(applied[0]?.n)).toBe((await journal()).entries.length);
    const columns = await query<{ column_name: string }>(
      database.url,
      "select column_name from information_schema.columns where table_name = 'runs'",
    );
    expect(columns.map((c) => c.column_name)).toEqual(
      expect.arrayContaining(['attempt', 'idempotency_key', 'interruptions']),
    );
  });

  it('upgrade a database from the previous migration and keep its rows', async () => {
    database = await createTestDatabase({ migrate: false });
    const previous = await allButLast();
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    await migrate(drizzle(pool), { migrationsFolder: previous });
    await pool.query(`
      insert into projects (id, name) values ('p1', 'old');
      insert into flows (id, project_id, name) values ('f1', 'p1', 'old flow');
      insert into flow_versions (id, flow_id, version, definition) values ('v1', 'f1', 1, '{}');
      insert into runs (id, project_id, flow_id, flow_version_id, status, trigger)
        values ('r1', 'p1', 'f1', 'v1', 'succeeded', '{"n":1}');`);
    await pool.end();
    await rm(previous, { recursive: true, force: true });

    await database.handle.migrate();
    const rows = await query<{ id: string; status: string; trigger: unknown }>(
      database.url,
      'select * from runs',
    );
    expect(rows).toEqual([
      expect.objectContaining({ id: 'r1', status: 'succeeded', trigger: { n: 1 } }),
    ]);
  });

  it('are forward-only: the baseline every deployed database has is never edited', async () => {
    const init = await readFile(join(MIGRATIONS, '0000_init.sql'));
    expect(createHash('sha256').update(init).digest('hex')).toBe(
      '8895e1e62e353afceaa8a60d991a89722f60560eec7bf8e9ed6b9e851bc03d64',
    );
    const { entries } = await journal();
    expect(entries.map((e) => e.idx)).toEqual(entries.map((_, i) => i));
  });
});
