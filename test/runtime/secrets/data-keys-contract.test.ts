import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataKeys } from '../../../runtime/secrets/data-keys';
import { createKmsDataKeys } from '../../../runtime/secrets/kms-data-keys';
import { KmsUnavailableError } from '../../../runtime/secrets/kms-unavailable-error';
import { createLocalDataKeys } from '../../../runtime/secrets/local-data-keys';
import { SecretsKeyMismatchError } from '../../../runtime/secrets/secrets-key-mismatch-error';
import { type KmsStub, startKmsStub } from '../../support/kms-stub';

/** One contract for both key-encryption keys: what the secrets store relies on. */

let stub: KmsStub;
let otherStub: KmsStub;
beforeAll(async () => {
  [stub, otherStub] = await Promise.all([startKmsStub(), startKmsStub()]);
});
afterAll(async () => {
  await Promise.all([stub.close(), otherStub.close()]);
});

const kms = (target: KmsStub, cacheTtlMs?: number) =>
  createKmsDataKeys({
    keyId: target.keyId,
    client: {
      endpoint: target.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      maxAttempts: 1,
    },
    ...(cacheTtlMs === undefined ? {} : { cacheTtlMs }),
  });

const drivers: [string, () => DataKeys, () => DataKeys][] = [
  [
    'local (SLUICE_SECRETS_KEY)',
    (() => {
      const key = randomBytes(32);
      return () => createLocalDataKeys(key);
    })(),
    () => createLocalDataKeys(randomBytes(32)),
  ],
  [
    'KMS through the real SDK against the JSON-protocol stub',
    () => kms(stub),
    () => kms(otherStub),
  ],
];

describe.each(drivers)('data keys: %s', (_name, sameKey, otherKey) => {
  it('gives a 32-byte key that unwraps to itself', async () => {
    const keys = sameKey();
    const { plaintext, wrapped } = await keys.generate();
    expect(plaintext).toHaveLength(32);
    expect(wrapped.includes(plaintext)).toBe(false);
    expect(await sameKey().unwrap(wrapped)).toEqual(plaintext);
  });

  it('gives a new key each time', async () => {
    const keys = sameKey();
    const [a, b] = await Promise.all([keys.generate(), keys.generate()]);
    expect(a.plaintext.equals(b.plaintext)).toBe(false);
  });

  it('refuses a key wrapped by another KEK with a mismatch error, never garbage', async () => {
    const { wrapped } = await sameKey().generate();
    await expect(otherKey().unwrap(wrapped)).rejects.toBeInstanceOf(SecretsKeyMismatchError);
  });

  it('refuses a tampered wrapped key', async () => {
    const { wrapped } = await sameKey().generate();
    wrapped[wrapped.length - 1] = (wrapped.at(-1) ?? 0) ^ 1;
    await expect(sameKey().unwrap(wrapped)).rejects.toBeInstanceOf(SecretsKeyMismatchError);
  });
});

describe('KMS data keys', () => {
  it('signs its calls and binds the sluice encryption context', async () => {
    const before = stub.requests.length;
    await kms(stub).generate();
    const [request] = stub.requests.slice(before);
    expect(request?.headers['x-amz-target']).toBe('TrentService.GenerateDataKey');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      KeyId: stub.keyId,
      KeySpec: 'AES_256',
      EncryptionContext: { purpose: 'sluice-secrets' },
    });
  });

  it('serves repeated unwraps of one key from its cache within the TTL', async () => {
    const keys = kms(stub, 60_000);
    const { wrapped, plaintext } = await keys.generate();
    const before = stub.calls.Decrypt ?? 0;
    for (let n = 0; n < 5; n++) expect(await keys.unwrap(wrapped)).toEqual(plaintext);
    expect((stub.calls.Decrypt ?? 0) - before).toBe(1);
  });

  it('asks KMS again once the TTL has passed', async () => {
    const keys = kms(stub, 0);
    const { wrapped } = await keys.generate();
    const before = stub.calls.Decrypt ?? 0;
    await keys.unwrap(wrapped);
    await keys.unwrap(wrapped);
    expect((stub.calls.Decrypt ?? 0) - before).toBe(2);
  });

  it('passes on an outage as an error, not as a wrong key', async () => {
    const down = await startKmsStub();
    const keys = kms(down);
    const { wrapped } = await keys.generate();
    await down.close();
    const error = await kms(down)
      .unwrap(wrapped)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsUnavailableError);
    void keys;
  });

  it('gives up on a KMS that never answers within seconds, as an outage', async () => {
    const hung = await startKmsStub();
    try {
      const keys = kms(hung);
      const { wrapped } = await keys.generate();
      // Takes every call and never answers, as a hung endpoint or network path does.
      hung.respond(() => ({ status: -1, body: '' }));
      const startedAt = Date.now();
      const stillWaiting = new Promise((resolve) => setTimeout(resolve, 8_000, 'still waiting'));
      const settled = (call: Promise<unknown>) =>
        Promise.race([
          call.then(
            () => 'answered',
            (e: unknown) => e,
          ),
          stillWaiting,
        ]);
      const errors = await Promise.all([
        settled(kms(hung).unwrap(wrapped)),
        settled(keys.generate()),
      ]);
      for (const error of errors) {
        expect(error).toBeInstanceOf(Error);
        expect(error).not.toBeInstanceOf(SecretsKeyMismatchError);
        // What the API answers 503 kms_unavailable for (POST and PUT /v1/secrets seal with KMS).
        expect(error).toBeInstanceOf(KmsUnavailableError);
      }
      expect(Date.now() - startedAt).toBeLessThan(7_000);
    } finally {
      await hung.close();
    }
  });
});
