import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { secrets } from '../../../runtime/db/schema';
import { createLocalDataKeys } from '../../../runtime/secrets/local-data-keys';
import { createSecretStore } from '../../../runtime/secrets/secret-store';
import { SecretUnreadableError } from '../../../runtime/secrets/secret-unreadable-error';
import { SecretsKeyMismatchError } from '../../../runtime/secrets/secrets-key-mismatch-error';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let database: TestDatabase;
let projectId: string;
const key = randomBytes(32);
const store = () => createSecretStore(database.handle.db, createLocalDataKeys(key));

beforeAll(async () => {
  database = await createTestDatabase();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  }));
});
afterAll(() => database.drop());

describe('the secrets store', () => {
  it('keeps a value only as ciphertext, and gives it back in clear', async () => {
    const value = `tok-${randomBytes(12).toString('hex')}`;
    expect(await store().create(projectId, 'ROUND_TRIP', value)).toBe(true);
    const rows = await database.handle.db.select().from(secrets);
    const row = rows.find((r) => r.name === 'ROUND_TRIP');
    expect(row?.keySource).toBe('local');
    expect(JSON.stringify(row)).not.toContain(value);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(value).toString('base64'));
    expect(await store().values(projectId, ['ROUND_TRIP', 'ABSENT'])).toEqual(
      new Map([['ROUND_TRIP', value]]),
    );
  });

  it('refuses a second create of one name, and replaces on rotation', async () => {
    const s = store();
    expect(await s.create(projectId, 'ROTATED', 'one')).toBe(true);
    expect(await s.create(projectId, 'ROTATED', 'two')).toBe(false);
    expect(await s.replace(projectId, 'ROTATED', 'three')).toBe(true);
    expect((await s.values(projectId, ['ROTATED'])).get('ROTATED')).toBe('three');
    expect(await s.replace(projectId, 'NEVER_MADE', 'x')).toBe(false);
  });

  it('does not open a ciphertext moved to another name', async () => {
    const s = store();
    await s.create(projectId, 'MOVED_FROM', 'moving');
    await s.create(projectId, 'MOVED_TO', 'other');
    const [from] = await database.handle.db
      .select()
      .from(secrets)
      .where(eq(secrets.name, 'MOVED_FROM'));
    await database.handle.db
      .update(secrets)
      .set({ ciphertext: from?.ciphertext ?? '', wrappedKey: from?.wrappedKey ?? '' })
      .where(eq(secrets.name, 'MOVED_TO'));
    await expect(s.values(projectId, ['MOVED_TO'])).rejects.toBeInstanceOf(SecretUnreadableError);
  });

  it('lists names and timestamps, and deletes', async () => {
    const s = store();
    await s.create(projectId, 'LISTED', 'v');
    const listed = await s.list(projectId);
    expect(listed.map((l) => l.name)).toContain('LISTED');
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
    expect(await s.remove(projectId, 'LISTED')).toBe(true);
    expect(await s.remove(projectId, 'LISTED')).toBe(false);
    expect(await s.existing(projectId, ['LISTED', 'ROTATED'])).toEqual(new Set(['ROTATED']));
  });

  it('passes its start-up check with the key the secrets were written with', async () => {
    await expect(store().verifyKey()).resolves.toBeUndefined();
  });

  it('stops start-up with a clear error under another key', async () => {
    const wrong = createSecretStore(database.handle.db, createLocalDataKeys(randomBytes(32)));
    const error = await wrong.verifyKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsKeyMismatchError);
    expect((error as Error).message).toBe(
      'SLUICE_SECRETS_KEY cannot decrypt a stored data key (not the key the secrets were written with)',
    );
  });
});
