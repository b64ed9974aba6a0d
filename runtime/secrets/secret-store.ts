import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { secrets } from '../db/schema';
import type { DataKeys } from './data-keys';
import { openSecret, sealSecret } from './envelope';
import { SecretsKeyMismatchError } from './secrets-key-mismatch-error';

export interface SecretListing {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A project's secrets: written sealed, read back in clear only by the worker running a flow. */
export interface SecretStore {
  /** Creates the secret; false when the name is taken. */
  create(projectId: string, name: string, value: string): Promise<boolean>;
  /** Replaces the value (rotation); false when there is no such secret. */
  replace(projectId: string, name: string, value: string): Promise<boolean>;
  /** Names and timestamps, never values. */
  list(projectId: string): Promise<SecretListing[]>;
  remove(projectId: string, name: string): Promise<boolean>;
  /** Which of `names` exist. */
  existing(projectId: string, names: readonly string[]): Promise<Set<string>>;
  /** The clear values of those of `names` that exist. */
  values(projectId: string, names: readonly string[]): Promise<Map<string, string>>;
  /**
   * Opens one stored data key of each key source: a process started with the wrong
   * SLUICE_SECRETS_KEY (or KMS key) stops here, rather than failing runs one by one.
   */
  verifyKey(): Promise<void>;
}

export function createSecretStore(db: Database, keys: DataKeys): SecretStore {
  const row = (projectId: string, name: string) =>
    and(eq(secrets.projectId, projectId), eq(secrets.name, name));
  return {
    async create(projectId, name, value) {
      const sealed = await sealSecret(keys, projectId, name, value);
      const inserted = await db
        .insert(secrets)
        .values({ projectId, name, ...sealed })
        .onConflictDoNothing()
        .returning({ name: secrets.name });
      return inserted.length === 1;
    },
    async replace(projectId, name, value) {
      const sealed = await sealSecret(keys, projectId, name, value);
      const updated = await db
        .update(secrets)
        .set({ ...sealed, updatedAt: sql`now()` })
        .where(row(projectId, name))
        .returning({ name: secrets.name });
      return updated.length === 1;
    },
    list: (projectId) =>
      db
        .select({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
        .from(secrets)
        .where(eq(secrets.projectId, projectId))
        .orderBy(asc(secrets.name)),
    async remove(projectId, name) {
      const deleted = await db
        .delete(secrets)
        .where(row(projectId, name))
        .returning({ name: secrets.name });
      return deleted.length === 1;
    },
    async existing(projectId, names) {
      if (names.length === 0) return new Set();
      const found = await db
        .select({ name: secrets.name })
        .from(secrets)
        .where(and(eq(secrets.projectId, projectId), inArray(secrets.name, [...names])));
      return new Set(found.map((r) => r.name));
    },
    async values(projectId, names) {
      const opened = new Map<string, string>();
      if (names.length === 0) return opened;
      const rows = await db
        .select()
        .from(secrets)
        .where(and(eq(secrets.projectId, projectId), inArray(secrets.name, [...names])));
      for (const r of rows) opened.set(r.name, await openSecret(keys, projectId, r.name, r));
      return opened;
    },
    async verifyKey() {
      const samples = await db
        .selectDistinctOn([secrets.keySource], {
          keySource: secrets.keySource,
          wrappedKey: secrets.wrappedKey,
        })
        .from(secrets);
      for (const sample of samples) {
        if (sample.keySource !== keys.source) {
          throw new SecretsKeyMismatchError(
            `stored secrets were encrypted with the ${sample.keySource} key, but this process has the ${keys.source} key (${keys.source === 'kms' ? 'SLUICE_SECRETS_KMS_KEY_ID' : 'SLUICE_SECRETS_KEY'})`,
          );
        }
        await keys.unwrap(Buffer.from(sample.wrappedKey, 'base64'));
      }
    },
  };
}
