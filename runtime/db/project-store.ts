import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { count, eq, sql } from 'drizzle-orm';
import type { Database } from './client';
import { apiKeys, projects } from './schema';

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export const generateApiKey = () => `sk_${randomBytes(24).toString('base64url')}`;

/** Creates a project and stores `apiKey` (hashed) as its key. */
export async function createProjectWithKey(
  db: Database,
  input: { name: string; apiKey: string },
): Promise<{ projectId: string }> {
  const projectId = randomUUID();
  await db.transaction(async (tx) => {
    await tx.insert(projects).values({ id: projectId, name: input.name });
    await tx.insert(apiKeys).values({
      id: randomUUID(),
      projectId,
      name: 'default',
      prefix: input.apiKey.slice(0, 7),
      hash: hashApiKey(input.apiKey),
    });
  });
  return { projectId };
}

export async function findProjectIdByApiKey(db: Database, key: string): Promise<string | null> {
  const [row] = await db
    .select({ projectId: apiKeys.projectId })
    .from(apiKeys)
    .where(eq(apiKeys.hash, hashApiKey(key)));
  return row?.projectId ?? null;
}

/**
 * Creates the first project with `apiKey` when no key exists yet. Returns false when keys
 * already exist. The transaction-scoped advisory lock stops two APP tasks seeding twice.
 */
export async function seedFirstApiKey(db: Database, apiKey: string): Promise<boolean> {
  // Every start but the first finds a key: one read, no transaction or lock.
  const [existing] = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
  if (existing !== undefined) return false;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(7263002)`);
    const [row] = await tx.select({ n: count() }).from(apiKeys);
    if (Number(row?.n ?? 0) > 0) return false;
    const projectId = randomUUID();
    await tx.insert(projects).values({ id: projectId, name: 'default' });
    await tx.insert(apiKeys).values({
      id: randomUUID(),
      projectId,
      name: 'default',
      prefix: apiKey.slice(0, 7),
      hash: hashApiKey(apiKey),
    });
    return true;
  });
}
