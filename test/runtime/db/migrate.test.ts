import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../../runtime/db/client';
import { parseEnv } from '../../../runtime/env';
import { openDatabase } from '../../../runtime/parts';
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

describe('when the database ends the connection of a start-up waiting to migrate', () => {
  it('stops with one line naming DATABASE_URL, and no unhandled error event', async () => {
    const fresh = await createTestDatabase({ migrate: false });
    // Another process holds the migration lock (it is migrating, for as long as it takes).
    const holder = new pg.Client({ connectionString: fresh.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock(7263001)');
      const opening = openDatabase(
        parseEnv({
          SLUICE_ROLE: 'app',
          REDIS_URL: 'redis://127.0.0.1:6379',
          DATABASE_URL: fresh.url,
        }),
        pino({ level: 'silent' }),
      ).then(
        () => 'opened',
        (error: unknown) => (error as Error).message,
      );
      let waiter: number | undefined;
      for (let tries = 0; tries < 50 && waiter === undefined; tries++) {
        const { rows } = await holder.query<{ pid: number }>(
          `select pid from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        );
        waiter = rows[0]?.pid;
        if (waiter === undefined) await new Promise((done) => setTimeout(done, 100));
      }
      expect(waiter).toBeDefined();

      // A restart, a failover or an administrator ends that backend.
      await holder.query('select pg_terminate_backend($1)', [waiter]);

      const { pathname } = new URL(fresh.url);
      expect(await opening).toBe(
        `cannot open the database DATABASE_URL names (127.0.0.1:5432${pathname}): the server ended the connection (57P01: a restart, a failover or an administrator)`,
      );
    } finally {
      await holder.end();
      await fresh.drop();
    }
  });
});
