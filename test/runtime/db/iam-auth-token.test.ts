import { Signer } from '@aws-sdk/rds-signer';
import { describe, expect, it } from 'vitest';
import {
  type AuthTokenSigner,
  cachedAuthToken,
  IAM_TOKEN_LIFETIME_MS,
  IAM_TOKEN_REFRESH_AFTER_MS,
} from '../../../runtime/db/iam-auth-token';

/** Counts signings; each token names its number. */
function countingSigner(): AuthTokenSigner & { signed: number; failNext: boolean } {
  const signer = {
    signed: 0,
    failNext: false,
    async getAuthToken() {
      if (signer.failNext) {
        signer.failNext = false;
        throw new Error('no credentials');
      }
      signer.signed += 1;
      return `token-${signer.signed}`;
    },
  };
  return signer;
}

describe('the IAM auth token the pool logs in with', () => {
  it('is signed once and reused while it is young', async () => {
    let now = 0;
    const signer = countingSigner();
    const token = cachedAuthToken(signer, { now: () => now });

    expect(await token()).toBe('token-1');
    now = IAM_TOKEN_REFRESH_AFTER_MS - 1;
    expect(await token()).toBe('token-1');
    expect(signer.signed).toBe(1);
  });

  it('is signed anew well before RDS stops accepting it', async () => {
    let now = 0;
    const signer = countingSigner();
    const token = cachedAuthToken(signer, { now: () => now });
    await token();

    now = IAM_TOKEN_REFRESH_AFTER_MS;
    expect(await token()).toBe('token-2');
    expect(IAM_TOKEN_LIFETIME_MS - IAM_TOKEN_REFRESH_AFTER_MS).toBeGreaterThanOrEqual(5 * 60_000);
  });

  it('signs once for logins that start together', async () => {
    const signer = countingSigner();
    const token = cachedAuthToken(signer, { now: () => 0 });

    expect(await Promise.all([token(), token(), token()])).toEqual([
      'token-1',
      'token-1',
      'token-1',
    ]);
    expect(signer.signed).toBe(1);
  });

  it('does not keep a failed signing: the next login signs again', async () => {
    const signer = countingSigner();
    signer.failNext = true;
    const token = cachedAuthToken(signer, { now: () => 0 });

    await expect(token()).rejects.toThrow('no credentials');
    expect(await token()).toBe('token-1');
  });
});

describe('the real RDS signer (contract)', () => {
  it('signs offline a 15-minute connect token for the runtime role, in the shape RDS expects', async () => {
    const signer = new Signer({
      hostname: 'sluice.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      username: 'sluice_app',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'dummy-secret' },
    });

    const token = await cachedAuthToken(signer)();

    // No scheme: the token is the pre-signed URL's host, path and query, used as the password.
    expect(token.startsWith('sluice.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?')).toBe(true);
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1));
    expect(query.get('Action')).toBe('connect');
    expect(query.get('DBUser')).toBe('sluice_app');
    expect(query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(query.get('X-Amz-Credential')).toMatch(
      /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/,
    );
    expect(Number(query.get('X-Amz-Expires'))).toBe(IAM_TOKEN_LIFETIME_MS / 1000);
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});
