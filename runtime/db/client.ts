import { mkdirSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { withTimeout } from '../timeout';
import { BoundedPgClient } from './bounded-pg-client';
import { lockPgliteDir } from './pglite-lock';
import { grantRuntimeRole, prepareRuntimeRole } from './runtime-role';
import * as schema from './schema';
import { hasNewestMigration, mayMigrate, migrationsFolder, waitForSchema } from './schema-version';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  /** Cheap liveness probe used by /v1/health/ready. */
  ping(timeoutMs: number): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresHandle extends DatabaseHandle {
  /** Whether this login can migrate: see mayMigrate. */
  mayMigrate(): Promise<boolean>;
  /** For a process that may not migrate: see waitForSchema. */
  waitForSchema(options: { timeoutMs: number; onWait: () => void }): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  /** A fixed password, or (IAM auth) a function pg calls for each new connection. */
  password?: string | (() => Promise<string>) | undefined;
  poolSize: number;
  idleTimeoutMs: number;
  /** The bound on each pooled query (SLUICE_DB_QUERY_TIMEOUT_MS); POSTGRES_TIMEOUT_MS if unset. */
  queryTimeoutMs?: number | undefined;
  /** TLS for every connection; when set, the URL's sslmode is ignored. */
  ssl?: ConnectionOptions | undefined;
}

/** Serialises migrations across processes: several APP tasks may start at once. */
const MIGRATION_LOCK_KEY = 7_263_001;

/**
 * How long a connection attempt, and by default each query, may wait for PostgreSQL: a server
 * that is down or hangs costs a request at most this before it answers 503.
 */
export const POSTGRES_TIMEOUT_MS = 2000;

/** Where and how to log in: what the pool and a session connection (session-connection.ts) share. */
export type PostgresAccess = Pick<PostgresOptions, 'url' | 'password' | 'ssl'>;

export function connectionConfig(options: PostgresAccess): pg.ClientConfig {
  // Parsed here rather than passed as `connectionString`: pg lets a connection string's fields
  // (even an empty password, or the ssl its sslmode implies) replace the explicit ones.
  const fromUrl = parseIntoClientConfig(options.url);
  return {
    ...fromUrl,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    connectionTimeoutMillis: POSTGRES_TIMEOUT_MS,
  } as pg.ClientConfig;
}

function createPool(options: PostgresOptions): pg.Pool {
  const queryTimeoutMs = options.queryTimeoutMs ?? POSTGRES_TIMEOUT_MS;
  const pool = new pg.Pool({
    ...connectionConfig(options),
    max: options.poolSize,
    idleTimeoutMillis: options.idleTimeoutMs,
    // A hung server keeps an open connection silent: without a bound on each query, requests
    // on the pool's connected clients would wait for good.
    query_timeout: queryTimeoutMs,
    // The same bound in the server (a startup parameter, so free per query): a statement the
    // client gave up on would otherwise run on, holding its backend and locks, and a write
    // answered 503 could still commit once the lock it waited on was released.
    statement_timeout: queryTimeoutMs,
    Client: BoundedPgClient,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Applies the migrations under the advisory lock. With `runtimeRole`, the connection is the
 * admin's and the role is prepared before and granted after (runtime-role.ts), in the same lock.
 * The lock is taken on a connection of its own, without the pool's query bound: it waits for
 * as long as another process takes to migrate.
 */
async function migrateLocked(
  pool: pg.Pool,
  options: PostgresOptions,
  runtimeRole?: { role: string; password?: string | undefined },
): Promise<void> {
  const folder = migrationsFolder();
  if (runtimeRole === undefined && (await hasNewestMigration(pool, folder))) return;
  const client = new pg.Client(connectionConfig(options));
  // A connection ended under a pending query (a restart or failover while this waits for the
  // lock) rejects that query; pg emits the same loss as an 'error' event, which unheard ends
  // the process with a stack instead of the one line start-up prints.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    if (runtimeRole !== undefined) await prepareRuntimeRole(client, runtimeRole);
    const { migrate } = await import('drizzle-orm/node-postgres/migrator');
    await migrate(drizzlePg(client), { migrationsFolder: folder });
    if (runtimeRole !== undefined) await grantRuntimeRole(client, runtimeRole.role);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}

export function connectPostgres(options: PostgresOptions): PostgresHandle {
  const pool = createPool(options);
  const db = drizzlePg(pool, { schema }) as unknown as Database;
  return {
    db,
    async ping(timeoutMs) {
      await withTimeout(pool.query('select 1'), timeoutMs, 'postgres');
    },
    migrate: () => migrateLocked(pool, options),
    mayMigrate: () => mayMigrate(pool),
    waitForSchema: (wait) => waitForSchema(pool, wait),
    close: () => pool.end(),
  };
}

/**
 * As the admin (SLUICE_DB_ADMIN_URL): migrates, and makes `runtimeRole` the least-privilege
 * login the runtime serves as. The admin connection is closed before this returns.
 */
export async function migrateAsAdmin(
  admin: PostgresOptions,
  runtimeRole: { role: string; password?: string | undefined },
): Promise<void> {
  const pool = createPool({ ...admin, poolSize: 1 });
  try {
    await migrateLocked(pool, admin, runtimeRole);
  } finally {
    await pool.end();
  }
}

/** Embedded mode: PostgreSQL compiled to WASM, stored in `dataDir`. One process only. */
export async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockPgliteDir(dataDir);
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const client = await PGlite.create(`${dataDir}/pg`).catch((error: unknown) => {
    unlock();
    throw error;
  });
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
    close: () => client.close().finally(unlock),
  };
}
