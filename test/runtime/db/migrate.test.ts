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
      'files',
      'flow_versions',
      'flows',
      'projects',
      'runs',
    ]);
  });
});
