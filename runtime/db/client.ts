import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { withTimeout } from '../timeout';
import { BoundedPgClient } from './bounded-pg-client';
import * as schema from './schema';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  /** Cheap liveness probe used by /v1/health/ready. */
  ping(timeoutMs: number): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  password?: string | undefined;
  poolSize: number;
  idleTimeoutMs: number;
}

/** Beside this module in the source tree; one level up when this code sits in a bundle chunk. */
function migrationsFolder(): string {
  for (const relative of ['./migrations', '../migrations']) {
    const folder = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(folder, 'meta', '_journal.json'))) return folder;
  }
  throw new Error('database migrations folder not found');
}

/** The `when` of the newest migration in the journal: drizzle records it as `created_at`. */
function newestMigrationMillis(folder: string): number {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number }[];
  };
  return Math.max(...journal.entries.map((entry) => entry.when));
}

/**
 * One read instead of the migrator's lock, DDL checks and file hashing: a database that
 * already has the newest migration needs nothing, which is every start but the first.
 */
async function hasNewestMigration(pool: pg.Pool, folder: string): Promise<boolean> {
  try {
    const { rows } = await pool.query<{ newest: string | null }>(
      'select max(created_at) as newest from drizzle.__drizzle_migrations',
    );
    return Number(rows[0]?.newest ?? 0) >= newestMigrationMillis(folder);
  } catch {
    return false; // no migrations table yet: a new database
  }
}

/** Serialises migrations across processes: several APP tasks may start at once. */
const MIGRATION_LOCK_KEY = 7_263_001;

/**
 * How long a connection attempt, and then each query, may wait for PostgreSQL: a server that
 * is down or hangs costs a request at most this before it answers 503.
 */
const POSTGRES_TIMEOUT_MS = 2000;

export function connectPostgres(options: PostgresOptions): DatabaseHandle {
  const connection = {
    connectionString: options.url,
    ...(options.password === undefined ? {} : { password: options.password }),
    connectionTimeoutMillis: POSTGRES_TIMEOUT_MS,
  };
  const pool = new pg.Pool({
    ...connection,
    max: options.poolSize,
    idleTimeoutMillis: options.idleTimeoutMs,
    // A hung server keeps an open connection silent: without a bound on each query, requests
    // on the pool's connected clients would wait for good.
    query_timeout: POSTGRES_TIMEOUT_MS,
    Client: BoundedPgClient,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = drizzlePg(pool, { schema }) as unknown as Database;
  return {
    db,
    async ping(timeoutMs) {
      await withTimeout(pool.query('select 1'), timeoutMs, 'postgres');
    },
    async migrate() {
      const folder = migrationsFolder();
      if (await hasNewestMigration(pool, folder)) return;
      // A connection of its own, without the query bound: the lock waits for as long as
      // another process takes to migrate.
      const client = new pg.Client(connection);
      await client.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        const { migrate } = await import('drizzle-orm/node-postgres/migrator');
        await migrate(drizzlePg(client), { migrationsFolder: folder });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
        await client.end().catch(() => {});
      }
    },
    close: () => pool.end(),
  };
}

/** Embedded mode: PostgreSQL compiled to WASM, stored in `dataDir`. One process only. */
export async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const client = await PGlite.create(`${dataDir}/pg`);
  const db = drizzle(client, { schema }) as unknown as Database;
  return {
    db,
    async ping(timeoutMs) {
      await withTimeout(client.query('select 1'), timeoutMs, 'pglite');
    },
    async migrate() {
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder() });
    },
    close: () => client.close(),
  };
}
