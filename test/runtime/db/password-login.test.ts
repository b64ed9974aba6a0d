import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../../runtime/db/client';
import {
  type AuthTokenSigner,
  cachedAuthToken,
  IAM_TOKEN_REFRESH_AFTER_MS,
} from '../../../runtime/db/iam-auth-token';
import { parseEnv } from '../../../runtime/env';
import { openDatabase } from '../../../runtime/parts';
import { withPgClient } from '../../support/database';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres';

/**
 * How the pool sends a password, against a PostgreSQL that checks it (SCRAM over TCP). For IAM,
 * the token provider as the pool uses it: against a PostgreSQL that checks passwords (SCRAM):
 * the role's password stands in for the token RDS would accept, and is changed as a new token
 * would be. What is proved is that each new connection asks the provider, which re-signs only
 * once the token is old.
 */
let pg: ThrowawayPostgres;

beforeAll(async () => {
  pg = await startThrowawayPostgres({ hostAuth: 'scram-sha-256' });
  await withPgClient(pg.socketUrl, (client) =>
    client.query(`create role sluice_app login password 'token-1'`),
  );
}, 60_000);

afterAll(async () => {
  await pg?.destroy();
});

const acceptOnly = (token: string) =>
  withPgClient(pg.socketUrl, (client) =>
    client.query(`alter role sluice_app password ${client.escapeLiteral(token)}`),
  );

async function login(password: string | (() => Promise<string>)): Promise<string> {
  const database = connectPostgres({
    url: `postgres://sluice_app@127.0.0.1:${pg.port}/postgres`,
    password,
    poolSize: 1,
    idleTimeoutMs: 1000,
  });
  try {
    await database.ping(5000);
    return 'logged in';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await database.close();
  }
}

describe('logging in with a password the URL does not carry', () => {
  it('sends SLUICE_DB_PASSWORD, which the URL’s empty password must not replace', async () => {
    await acceptOnly('fixed-password-0123');
    expect(await login('fixed-password-0123')).toBe('logged in');
    expect(await login('another-password')).toMatch(/password authentication failed/);
  });
});

describe('logging in with IAM auth tokens', () => {
  it('reuses a young token for new connections and re-signs an old one before they need it', async () => {
    await acceptOnly('token-1');
    let now = 0;
    let signed = 0;
    const signer: AuthTokenSigner = {
      getAuthToken: async () => {
        signed += 1;
        return `token-${signed}`;
      },
    };
    const token = cachedAuthToken(signer, { now: () => now });

    expect(await login(token)).toBe('logged in');
    // The server now wants the next token; the cached one is still young, so it is sent again.
    await acceptOnly('token-2');
    now = IAM_TOKEN_REFRESH_AFTER_MS - 1;
    expect(await login(token)).toMatch(/password authentication failed for user "sluice_app"/);
    now = IAM_TOKEN_REFRESH_AFTER_MS;
    expect(await login(token)).toBe('logged in');
    expect(signed).toBe(2);
  });
});

describe('the runtime role an APP with SLUICE_DB_ADMIN_URL prepares', () => {
  it.each([
    ['%-encoded', 'p%40ss%2Fword-0123', 'p@ss/word-0123'],
    ['with a % that encodes nothing', 'p%zz-word-0123', 'p%zz-word-0123'],
  ])(
    'gets the password the pool logs in with, from a DATABASE_URL whose password is %s',
    async (_what, inUrl, password) => {
      await withPgClient(pg.socketUrl, (client) =>
        client.query(`alter role postgres password 'admin-password-0123'`),
      );
      const env = parseEnv({
        SLUICE_ROLE: 'app',
        REDIS_URL: 'redis://127.0.0.1:6379',
        DATABASE_URL: `postgres://sluice_pct:${inUrl}@127.0.0.1:${pg.port}/postgres`,
        SLUICE_DB_ADMIN_URL: `postgres://postgres@127.0.0.1:${pg.port}/postgres`,
        SLUICE_DB_ADMIN_PASSWORD: 'admin-password-0123',
      });

      const database = await openDatabase(env, pino({ level: 'silent' }));
      await database.close();

      const asRole = connectPostgres({
        url: `postgres://sluice_pct@127.0.0.1:${pg.port}/postgres`,
        password,
        poolSize: 1,
        idleTimeoutMs: 1000,
      });
      try {
        await expect(asRole.ping(5000)).resolves.toBeUndefined();
      } finally {
        await asRole.close();
      }
    },
    30_000,
  );
});
