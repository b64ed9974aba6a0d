import { hkdfSync, randomBytes } from 'node:crypto';
import { open, seal } from './aes-gcm';
import type { DataKeys } from './data-keys';
import { SecretsKeyMismatchError } from './secrets-key-mismatch-error';

const DATA_KEY_AAD = 'sluice:data-key';

/**
 * Data keys wrapped with AES-256-GCM under a KEK derived (HKDF-SHA256) from SLUICE_SECRETS_KEY,
 * so a longer key material still gives a 256-bit key.
 */
export function createLocalDataKeys(keyMaterial: Buffer): DataKeys {
  const kek = Buffer.from(hkdfSync('sha256', keyMaterial, '', 'sluice secrets kek', 32));
  return {
    source: 'local',
    async generate() {
      const plaintext = randomBytes(32);
      return { plaintext, wrapped: seal(kek, plaintext, DATA_KEY_AAD) };
    },
    async unwrap(wrapped) {
      try {
        return open(kek, wrapped, DATA_KEY_AAD);
      } catch (error) {
        throw new SecretsKeyMismatchError(
          'SLUICE_SECRETS_KEY cannot decrypt a stored data key (not the key the secrets were written with)',
          { cause: error },
        );
      }
    },
  };
}
