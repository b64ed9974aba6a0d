import { Writable } from 'node:stream';
import { DrizzleQueryError, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { safeError } from '../../runtime/log-safe-error';
import { createLogger } from '../../runtime/logger';
import { createTestDatabase } from '../support/database';

const SECRET = 'whsec-logged-NEVER-0123456789';

describe('safeError, the log view of an error', () => {
  it("keeps a failed query's statement but none of its parameters, nor PostgreSQL's detail", async () => {
    // A real refusal from PostgreSQL, wrapped by drizzle as the runtime sees it.
    const database = await createTestDatabase({ migrate: false });
    const failure = await database.handle.db
      .execute(
        (await import('drizzle-orm')).sql`select ${`{"a":"\\ud800","s":"${SECRET}"}`}::jsonb`,
      )
      .catch((error: unknown) => error);
    await database.drop();
    expect(failure).toBeInstanceOf(DrizzleQueryError);
    expect(String((failure as Error).message)).toContain(SECRET); // what used to be logged

    const safe = safeError(failure);
    const logged = JSON.stringify(safe);
    expect(logged).not.toContain(SECRET);
    expect(safe).toMatchObject({
      type: 'DrizzleQueryError',
      message: 'failed query (parameters not logged)',
      query: expect.stringContaining('::jsonb'),
      cause: { code: expect.stringMatching(/^22/) },
    });
    expect(safe.stack).toMatch(/^DrizzleQueryError: failed query[^\n]*\n {4}at /);
  });

  it('keeps what a PostgreSQL data exception says but not the value it quotes', async () => {
    const database = await createTestDatabase({ migrate: false });
    const failures = await Promise.all(
      [sql`select ${SECRET}::int`, sql`select ${`9${SECRET}`}::timestamptz`].map((query) =>
        database.handle.db.execute(query).catch((error: unknown) => error),
      ),
    );
    await database.drop();
    const causes = failures.map((failure) => (failure as Error).cause as Error);
    expect(causes.map((cause) => cause.message).join()).toContain(SECRET); // what PostgreSQL says

    const logged = failures.map((failure) => safeError(failure).cause);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
    expect(logged).toEqual([
      expect.objectContaining({ message: 'invalid input syntax for type integer', code: '22P02' }),
      expect.objectContaining({
        message: 'invalid input syntax for type timestamp with time zone',
        code: '22007',
      }),
    ]);
  });

  it('drops the fields of a driver error that can quote row values', () => {
    const error = Object.assign(new Error('duplicate key value violates unique constraint "k"'), {
      code: '23505',
      constraint: 'k',
      detail: `Key (secret)=(${SECRET}) already exists.`,
      where: `SQL statement with ${SECRET}`,
    });
    const logged = JSON.stringify(safeError(error));
    expect(logged).toContain('23505');
    expect(logged).toContain('"constraint":"k"');
    expect(logged).not.toContain(SECRET);
  });

  it('is the serializer of the runtime logger for err', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', {}, sink);
    const failure = new DrizzleQueryError('insert into runs ...', [SECRET], new Error('x'));
    logger.error({ err: failure }, 'failed');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain('failed query (parameters not logged)');
  });

  it('describes a thrown non-Error without its value', () => {
    expect(safeError(SECRET)).toEqual({ type: 'string', message: 'a non-Error was thrown' });
  });
});
