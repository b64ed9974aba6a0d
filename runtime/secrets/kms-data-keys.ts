import {
  DecryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { SECRETS_ENCRYPTION_CONTEXT } from '../limits';
import { boundedSdkRequests } from '../sdk-request-bounds';
import type { DataKeys } from './data-keys';
import { KmsUnavailableError } from './kms-unavailable-error';
import { SecretsKeyMismatchError } from './secrets-key-mismatch-error';

export interface KmsDataKeysOptions {
  /** The KMS key (id, ARN or alias) that wraps new data keys. */
  keyId: string;
  /** Region, endpoint and credentials; tests point `endpoint` at a local stub. */
  client?: KMSClientConfig;
  /**
   * How long an unwrapped data key is kept in memory, so a busy flow does not call KMS on
   * every run. A rotated secret has a new data key, so the cache never serves an old value.
   * @default 300000
   */
  cacheTtlMs?: number;
  /** @default 1000 */
  cacheMaxEntries?: number;
}

/** KMS's answers to a blob its key did not wrap, or a key this role may not use. */
const MISMATCH = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'AccessDeniedException',
]);

/**
 * Per attempt. KMS answers in milliseconds; without a bound the SDK waits up to its 5-minute
 * socket timeout on each of 3 attempts, which holds a POST /v1/secrets open and a worker's run
 * (before its flow deadline applies) for 15 minutes when KMS or the path to it hangs.
 */
const KMS_REQUEST_TIMEOUT_MS = 5000;

/** Data keys from AWS KMS (GenerateDataKey / Decrypt), with a small in-memory unwrap cache. */
export function createKmsDataKeys(options: KmsDataKeysOptions): DataKeys {
  const kms = new KMSClient({
    requestHandler: boundedSdkRequests(KMS_REQUEST_TIMEOUT_MS),
    ...options.client,
  });
  const ttlMs = options.cacheTtlMs ?? 300_000;
  const maxEntries = options.cacheMaxEntries ?? 1000;
  const cache = new Map<string, { key: Buffer; until: number }>();

  return {
    source: 'kms',
    async generate() {
      const out = await kms
        .send(
          new GenerateDataKeyCommand({
            KeyId: options.keyId,
            KeySpec: 'AES_256',
            // Bound into every data key: a blob from another system's KMS use does not open here.
            EncryptionContext: SECRETS_ENCRYPTION_CONTEXT,
          }),
        )
        .catch((error: unknown) => {
          throw new KmsUnavailableError('GenerateDataKey', { cause: error });
        });
      if (out.Plaintext === undefined || out.CiphertextBlob === undefined) {
        throw new Error('KMS GenerateDataKey answered without a key');
      }
      return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob) };
    },
    async unwrap(wrapped) {
      const id = wrapped.toString('base64');
      const hit = cache.get(id);
      if (hit !== undefined && hit.until > Date.now()) return hit.key;
      let plaintext: Uint8Array | undefined;
      try {
        ({ Plaintext: plaintext } = await kms.send(
          new DecryptCommand({
            KeyId: options.keyId,
            CiphertextBlob: wrapped,
            EncryptionContext: SECRETS_ENCRYPTION_CONTEXT,
          }),
        ));
      } catch (error) {
        if (error instanceof Error && MISMATCH.has(error.name)) {
          throw new SecretsKeyMismatchError(
            `KMS key ${options.keyId} cannot decrypt a stored data key (${error.name})`,
            { cause: error },
          );
        }
        throw new KmsUnavailableError('Decrypt', { cause: error });
      }
      if (plaintext === undefined) throw new Error('KMS Decrypt answered without a key');
      const key = Buffer.from(plaintext);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(id, { key, until: Date.now() + ttlMs });
      return key;
    },
  };
}
