import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { SchemaWaitTimeoutError } from './schema-wait-timeout-error';

/** Beside this module in the source tree; one level up when this code sits in a bundle chunk. */
export function migrationsFolder(): string {
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
 * A missing migrations table (a new database) reads as false; other errors are thrown.
 */
export async function hasNewestMigration(pool: pg.Pool, folder: string): Promise<boolean> {
  try {
    const { rows } = await pool.query<{ newest: string | null }>(
      'select max(created_at) as newest from drizzle.__drizzle_migrations',
    );
    return Number(rows[0]?.newest ?? 0) >= newestMigrationMillis(folder);
  } catch (error) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: nobody has migrated yet.
    const code = (error as { code?: unknown }).code;
    if (code === '42P01' || code === '3F000') return false;
    throw error;
  }
}

/**
 * Whether this login can run the migrator at all, whose first statement (CREATE SCHEMA IF NOT
 * EXISTS) needs CREATE on the database even when the schema exists. The runtime role that an
 * APP with SLUICE_DB_ADMIN_URL makes never has it: it must wait for that APP instead.
 */
export async function mayMigrate(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ may: boolean }>(
    `select has_database_privilege(current_database(), 'CREATE') as may`,
  );
  return rows[0]?.may === true;
}

const POLL_MS = 1000;

/**
 * For a process that may not migrate (the runtime role under IAM auth): waits until another
 * process (the APP, as admin) has applied every migration this code knows, or throws
 * SchemaWaitTimeoutError after `timeoutMs`. `onWait` is told once, when the first look fails.
 */
export async function waitForSchema(
  pool: pg.Pool,
  { timeoutMs, onWait }: { timeoutMs: number; onWait: () => void },
): Promise<void> {
  const folder = migrationsFolder();
  const deadline = Date.now() + timeoutMs;
  let told = false;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await hasNewestMigration(pool, folder)) return;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (!told) {
      told = true;
      onWait();
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new SchemaWaitTimeoutError(Math.round(timeoutMs / 1000), lastError);
    await new Promise((done) => setTimeout(done, Math.min(POLL_MS, left)));
  }
}
