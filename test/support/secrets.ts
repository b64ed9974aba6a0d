import { randomBytes } from 'node:crypto';
import type { Database } from '../../runtime/db/client';
import { createLocalDataKeys } from '../../runtime/secrets/local-data-keys';
import { createSecretStore, type SecretStore } from '../../runtime/secrets/secret-store';

/** A real secrets store on `db`, under a fresh random local key. */
export const testSecretStore = (db: Database): SecretStore =>
  createSecretStore(db, createLocalDataKeys(randomBytes(32)));
