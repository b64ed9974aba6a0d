import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectPostgres, type DatabaseHandle } from '../../runtime/db/client';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  handle: DatabaseHandle;
  drop(): Promise<void>;
}

/** One connection to `url` for the length of `run`. */
export async function withPgClient<T>(
  url: string,
  run: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** As the cluster's superuser, on the shared `test` database. */
export const admin = <T>(run: (client: pg.Client) => Promise<T>): Promise<T> =>
  withPgClient(ADMIN_URL, run);

/** A fresh, migrated database per test file on the real PostgreSQL. */
export async function createTestDatabase({ migrate = true } = {}): Promise<TestDatabase> {
  const name = `sluice_t_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`create database ${name}`));
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const handle = connectPostgres({ url, poolSize: 5, idleTimeoutMs: 1000 });
  if (migrate) await handle.migrate();
  return {
    url,
    handle,
    async drop() {
      await handle.close();
      await admin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

export const randomQueuePrefix = () => `{sluice-test-${randomBytes(6).toString('hex')}}`;
