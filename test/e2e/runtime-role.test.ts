import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  createTestDatabase,
  randomQueuePrefix,
  type TestDatabase,
  withPgClient,
} from '../support/database';
import { doubleFlow } from '../support/flows';
import { pollJson, runSluiceToExit, type SluiceProcess, startSluice } from '../support/processes';

/**
 * The AWS shape of database access on the real PostgreSQL: the APP gets the admin URL, migrates
 * and creates the runtime role; the worker, in IAM mode with no admin URL, waits for the schema;
 * both then serve as the runtime role, which can do the whole workload and nothing more.
 * The local server trusts every login, so the IAM token itself is not checked here (the signer
 * has its own contract test); the role's rights are.
 */
const API_KEY = 'sk_e2e_runtime_role_key_0123456789';
const ROLE = `sluice_app_${randomBytes(5).toString('hex')}`;

let database: TestDatabase;
let dataDir: string;
let runtimeUrl: string;
let shared: Record<string, string>;
let app: SluiceProcess | undefined;
let worker: SluiceProcess | undefined;

const url = (db: TestDatabase) => new URL(db.url);
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

const asRuntimeRole = <T>(query: (client: pg.Client) => Promise<T>): Promise<T> =>
  withPgClient(runtimeUrl, query);

/** The SQLSTATE a statement run as the runtime role fails with, or 'ok'. */
const refusalOf = (sql: string) =>
  asRuntimeRole((client) =>
    client.query(sql).then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? 'no code',
    ),
  );

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-role-'));
  const runtime = url(database);
  runtime.username = ROLE;
  runtimeUrl = runtime.toString();
  shared = {
    DATABASE_URL: runtimeUrl,
    SLUICE_DB_AUTH: 'iam',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret-for-offline-signing',
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_DATA_DIR: dataDir,
    SLUICE_LOCAL_SIGNING_SECRET: 'e2e-runtime-role-signing-secret-0123456789',
  };
}, 30_000);

afterAll(async () => {
  await Promise.all([app, worker].map((p) => p?.stop('SIGKILL')));
  await database?.drop();
  await admin((client) => client.query(`drop role if exists ${ROLE}`));
  await rm(dataDir, { recursive: true, force: true });
});

describe('database access as a least-privilege runtime role', () => {
  it('a worker in IAM mode does not migrate: it waits for the schema, then stops with one line', async () => {
    const { code, stdout, stderr } = await runSluiceToExit({
      ...shared,
      // Nobody has created the role yet: this connects as the admin, as a worker must not.
      DATABASE_URL: database.url,
      SLUICE_ROLE: 'worker',
      SLUICE_DB_SCHEMA_WAIT_S: '1',
    });

    expect(code).toBe(1);
    expect(stdout).toContain('waiting for the APP to migrate the database schema');
    expect(stderr.trim().split('\n')).toEqual([
      'database schema is not at the newest migration after SLUICE_DB_SCHEMA_WAIT_S=1 s (the APP migrates it with SLUICE_DB_ADMIN_URL)',
    ]);
    const journal = await withPgClient(database.url, async (client) => {
      const { rows } = await client.query(
        `select to_regclass('drizzle.__drizzle_migrations') as journal`,
      );
      return rows[0]?.journal;
    });
    expect(journal).toBeNull();
  }, 30_000);

  it('runs flows end to end with the APP (admin-migrated) and a worker, both as the runtime role', async () => {
    [worker, app] = await Promise.all([
      startSluice({ ...shared, SLUICE_ROLE: 'worker', SLUICE_DB_SCHEMA_WAIT_S: '60' }, 60_000),
      startSluice(
        {
          ...shared,
          SLUICE_ROLE: 'app',
          PORT: '0',
          HOST: '127.0.0.1',
          SLUICE_API_KEY: API_KEY,
          SLUICE_DB_ADMIN_URL: database.url,
          // The reconciler's passes run as the role during the test too.
          SLUICE_RECONCILE_INTERVAL_S: '1',
        },
        60_000,
      ),
    ]);
    const base = `http://127.0.0.1:${app.port}`;

    const created = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(doubleFlow),
    });
    expect(created.status).toBe(201);
    const { id: flowId } = (await created.json()) as { id: string };
    const sync = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(sync.status).toBe(201);
    expect(await sync.json()).toEqual({ doubled: 42 });

    const queued = await fetch(`${base}/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 2 }),
    });
    const { runId } = (await queued.json()) as { runId: string };
    const run = await pollJson<{ status: string }>(
      `${base}/v1/runs/${runId}`,
      { headers: auth },
      (body) => body.status === 'succeeded',
    );
    expect(run.status).toBe('succeeded');
    const upload = await fetch(`${base}/v1/files?name=a.txt`, {
      method: 'POST',
      headers: { authorization: auth.authorization, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(upload.status).toBe(201);
    const ready = await fetch(`${base}/v1/health/ready`);
    expect(ready.status).toBe(200);
    // Both processes hold connections as the runtime role, and the APP closed the admin's.
    const users = await admin(async (client) => {
      const { rows } = await client.query<{ usename: string }>(
        'select distinct usename from pg_stat_activity where datname = $1',
        [url(database).pathname.slice(1)],
      );
      return rows.map((row) => row.usename);
    });
    expect(users).toEqual([ROLE]);
    // Nothing either process did as the role was refused (pino level 50 and above: errors).
    const errors = [app, worker].flatMap((p) =>
      (p?.output() ?? '').split('\n').filter((line) => /"level":(5|6)\d/.test(line)),
    );
    expect(errors).toEqual([]);
  }, 90_000);

  it('the runtime role may not change the schema, own tables, or hold more than a login', async () => {
    expect(await refusalOf('create table intruder (id int)')).toBe('42501');
    expect(await refusalOf('drop table runs')).toBe('42501');
    expect(await refusalOf('alter table runs add column x int')).toBe('42501');
    expect(await refusalOf('truncate runs')).toBe('42501');
    expect(await refusalOf('create schema intruder')).toBe('42501');
    expect(await refusalOf('delete from drizzle.__drizzle_migrations')).toBe('42501');
    expect(await refusalOf('select count(*) from runs')).toBe('ok');

    const role = await admin(async (client) => {
      const { rows } = await client.query(
        'select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = $1',
        [ROLE],
      );
      return rows[0];
    });
    expect(role).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
    });
    const owned = await asRuntimeRole(async (client) => {
      const { rows } = await client.query(
        'select count(*)::int as n from pg_tables where tableowner = current_user',
      );
      return rows[0]?.n;
    });
    expect(owned).toBe(0);
  });
});
