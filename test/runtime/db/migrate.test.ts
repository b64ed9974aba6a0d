import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../../runtime/db/client';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(() => database.drop());

describe('migrate', () => {
  it('is safe when several processes start at once', async () => {
    const handles = Array.from({ length: 4 }, () =>
      connectPostgres({ url: database.url, poolSize: 2, idleTimeoutMs: 1000 }),
    );
    try {
      await Promise.all(handles.map((handle) => handle.migrate()));
      // Applying again is a no-op.
      await handles[0]?.migrate();
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by 1",
    );
    await client.end();
    expect(rows.map((row) => row.table_name)).toEqual([
      'api_keys',
      'console_sessions',
      'files',
      'flow_versions',
      'flows',
      'projects',
      'runs',
      'secrets',
      'url_signing_keys',
      'worker_sightings',
    ]);
  });

  it('brings a database one migration behind up to date (the already-current check says no)', async () => {
    const behind = await createTestDatabase({ migrate: false });
    const dir = await mkdtemp(join(tmpdir(), 'sluice-migrations-'));
    try {
      await cp('runtime/db/migrations', dir, { recursive: true });
      const journalPath = join(dir, 'meta', '_journal.json');
      const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: unknown[] };
      await writeFile(
        journalPath,
        JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }),
      );
      const client = new pg.Client({ connectionString: behind.url });
      await client.connect();
      try {
        await migrate(drizzle(client), { migrationsFolder: dir });
        const count = async () =>
          Number(
            (await client.query('select count(*) as n from drizzle.__drizzle_migrations')).rows[0]
              .n,
          );
        expect(await count()).toBe(journal.entries.length - 1);
        await behind.handle.migrate();
        expect(await count()).toBe(journal.entries.length);
      } finally {
        await client.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await behind.drop();
    }
  });
});
