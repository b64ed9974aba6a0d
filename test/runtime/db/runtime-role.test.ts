import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAsAdmin } from '../../../runtime/db/client';
import { grantRuntimeRole, prepareRuntimeRole } from '../../../runtime/db/runtime-role';
import { parseEnv } from '../../../runtime/env';
import { openDatabase } from '../../../runtime/parts';
import { admin, createTestDatabase, type TestDatabase, withPgClient } from '../../support/database';

const ROLE = `sluice_app_${randomBytes(5).toString('hex')}`;
let database: TestDatabase;

const query = <T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []) =>
  withPgClient(url, async (client) => (await client.query<T>(sql, values)).rows);

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});

afterAll(async () => {
  await database?.drop();
  await admin((client) => client.query(`drop role if exists ${ROLE}`));
});

const adminOptions = () => ({ url: database.url, poolSize: 1, idleTimeoutMs: 1000 });

describe('migrating as the admin', () => {
  it('lets APP tasks that start together each migrate and prepare the runtime role', async () => {
    await Promise.all([
      migrateAsAdmin(adminOptions(), { role: ROLE, password: 'first-password-0123' }),
      migrateAsAdmin(adminOptions(), { role: ROLE, password: 'first-password-0123' }),
      migrateAsAdmin(adminOptions(), { role: ROLE, password: 'first-password-0123' }),
    ]);
    const runtime = new URL(database.url);
    runtime.username = ROLE;

    const rows = await query<{ n: number }>(
      runtime.toString(),
      'select count(*)::int as n from runs',
    );
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('is idempotent across restarts, and sets the role the password the runtime logs in with', async () => {
    await migrateAsAdmin(adminOptions(), { role: ROLE, password: 'second-password-0123' });

    const [role] = await query<{ rolcanlogin: boolean; matches: boolean }>(
      database.url,
      `select rolcanlogin, rolpassword is not null as matches from pg_authid where rolname = $1`,
      [ROLE],
    );
    expect(role).toEqual({ rolcanlogin: true, matches: true });
  });

  it('gives an IAM-mode role no password at all when it is created without one', async () => {
    const iamRole = `${ROLE}_iam`;
    try {
      await migrateAsAdmin(adminOptions(), { role: iamRole });
      const [role] = await query<{ has: boolean }>(
        database.url,
        'select rolpassword is not null as has from pg_authid where rolname = $1',
        [iamRole],
      );
      expect(role).toEqual({ has: false });
    } finally {
      await query(database.url, `drop owned by ${iamRole}`);
      await query(database.url, `drop role ${iamRole}`);
    }
  });
});

describe('starting with SLUICE_DB_ADMIN_URL', () => {
  /** A port on loopback that nothing listens on. */
  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const { port } = probe.address() as { port: number };
    await new Promise((done) => probe.close(done));
    return port;
  }

  it.each([
    ['a database that does not exist', 'missing', 'the database does not exist (3D000)'],
    ['a port nothing listens on', 'closed', 'ECONNREFUSED, nothing listens there'],
  ])(
    'stops with one line naming DATABASE_URL when the runtime role cannot log in there: %s',
    async (_what, kind, reason) => {
      const runtime = new URL(database.url);
      runtime.username = ROLE;
      if (kind === 'missing') runtime.pathname = '/sluice_no_such_database';
      else runtime.port = String(await closedPort());
      const env = parseEnv({
        SLUICE_ROLE: 'app',
        REDIS_URL: 'redis://127.0.0.1:6379',
        DATABASE_URL: runtime.toString(),
        SLUICE_DB_PASSWORD: 'third-password-0123',
        SLUICE_DB_ADMIN_URL: database.url,
      });

      const opening = openDatabase(env, pino({ level: 'silent' }));

      await expect(opening).rejects.toThrow(
        `cannot open the database DATABASE_URL names (127.0.0.1:${runtime.port || '5432'}${runtime.pathname}): ${reason}`,
      );
    },
  );
});

describe('a worker in password mode that logs in as the runtime role', () => {
  it('waits for the APP to migrate a schema older than its code, instead of migrating', async () => {
    // GIVEN a database one migration behind this code, whose runtime role the APP made earlier
    const behind = await createTestDatabase({ migrate: false });
    const role = `${ROLE}_pw`;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-migrations-'));
    try {
      await cp('runtime/db/migrations', dir, { recursive: true });
      const journalPath = join(dir, 'meta', '_journal.json');
      const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: unknown[] };
      await writeFile(
        journalPath,
        JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }),
      );
      await withPgClient(behind.url, async (client) => {
        await prepareRuntimeRole(client, { role, password: 'worker-password-0123' });
        await migrate(drizzle(client), { migrationsFolder: dir });
        await grantRuntimeRole(client, role);
      });
      const runtime = new URL(behind.url);
      runtime.username = role;
      const logged: string[] = [];
      const logger = pino(
        new Writable({
          write(line, _encoding, done) {
            logged.push(String(line));
            done();
          },
        }),
      );

      // WHEN a worker of the newer code starts as that role, before the APP has migrated
      const opening = openDatabase(
        parseEnv({
          SLUICE_ROLE: 'worker',
          REDIS_URL: 'redis://127.0.0.1:6379',
          DATABASE_URL: runtime.toString(),
          SLUICE_DB_PASSWORD: 'worker-password-0123',
          SLUICE_DB_SCHEMA_WAIT_S: '30',
        }),
        logger,
      );
      let settled = false;
      const outcome = opening.then(
        (handle) => ({ handle }),
        (error: unknown) => ({ error }),
      );
      void outcome.finally(() => {
        settled = true;
      });
      const waiting = () => logged.some((line) => line.includes('waiting for the APP to migrate'));
      for (let tries = 0; tries < 50 && !waiting() && !settled; tries++) {
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(settled ? await outcome : 'still opening').toBe('still opening');
      expect(waiting()).toBe(true);

      // THEN it serves once the APP has migrated as the admin
      await migrateAsAdmin(
        { url: behind.url, poolSize: 1, idleTimeoutMs: 1000 },
        { role, password: 'worker-password-0123' },
      );
      const opened = await outcome;
      expect(opened).toHaveProperty('handle');
      if ('handle' in opened) await opened.handle.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
      await behind.drop();
      await admin((client) => client.query(`drop role if exists ${role}`));
    }
  }, 30_000);
});
