import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAsAdmin } from '../../../runtime/db/client';
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
