import { EnvError, isSecretsKeyMaterial } from './env';
import { MIN_SIGNING_SECRET_LENGTH } from './limits';

/**
 * The secrets generated into SLUICE_DATA_DIR are checked like the variables that replace them:
 * an empty or damaged `secrets-key` (a write cut short, a hand edit) used to be taken as it was,
 * and an empty one derives a key anyone can compute, so secrets were sealed under no secret.
 */
export function checkedSecretsKey(dataDir: string, material: string): string {
  if (isSecretsKeyMaterial(material)) return material;
  throw new EnvError(
    `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} holds a secrets-key that is not base64 of at least 32 bytes (${material === '' ? 'empty' : 'damaged'}); restore it from a backup, or move it aside to generate a new one (secrets stored under it must then be set again), or set SLUICE_SECRETS_KEY`,
  );
}

/** As SLUICE_LOCAL_SIGNING_SECRET: at least 32 characters. */
export function checkedSigningSecret(dataDir: string, secret: string): string {
  if (secret.length >= MIN_SIGNING_SECRET_LENGTH) return secret;
  throw new EnvError(
    `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} holds a signing-secret shorter than ${MIN_SIGNING_SECRET_LENGTH} characters (${secret === '' ? 'empty' : 'damaged'}); move it aside to generate a new one (signed URLs already given out stop working), or set SLUICE_LOCAL_SIGNING_SECRET`,
  );
}
