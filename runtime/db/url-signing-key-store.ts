import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from './client';
import { urlSigningKeys } from './schema';

/**
 * The secret named `name`, made by the first caller: every APP instance then signs and
 * verifies with the same one. Two first callers race on the primary key and read the winner's.
 */
export async function urlSigningKey(db: Database, name: string): Promise<string> {
  await db
    .insert(urlSigningKeys)
    .values({ name, secret: randomBytes(32).toString('hex') })
    .onConflictDoNothing();
  const [row] = await db
    .select({ secret: urlSigningKeys.secret })
    .from(urlSigningKeys)
    .where(eq(urlSigningKeys.name, name));
  if (row === undefined) throw new Error(`url signing key ${name} was not stored`);
  return row.secret;
}
