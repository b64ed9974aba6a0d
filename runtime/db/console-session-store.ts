import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Database } from './client';
import { consoleSessions } from './schema';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface ConsoleSession {
  projectId: string;
  csrfToken: string;
  expiresAt: Date;
}

/** Opens a session for `projectId`; the returned token goes only into the httpOnly cookie. */
export async function openConsoleSession(
  db: Database,
  projectId: string,
  ttlMs: number,
): Promise<ConsoleSession & { token: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  // Expired rows are dropped here, a bounded batch per sign-in, instead of by a timer.
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, new Date()));
  await db
    .insert(consoleSessions)
    .values({ tokenHash: hashToken(token), projectId, csrfToken, expiresAt });
  return { token, projectId, csrfToken, expiresAt };
}

/** The live session the cookie's token names, or null (unknown, signed out or expired). */
export async function findConsoleSession(
  db: Database,
  token: string,
): Promise<ConsoleSession | null> {
  const [row] = await db
    .select({
      projectId: consoleSessions.projectId,
      csrfToken: consoleSessions.csrfToken,
      expiresAt: consoleSessions.expiresAt,
    })
    .from(consoleSessions)
    .where(
      and(
        eq(consoleSessions.tokenHash, hashToken(token)),
        gt(consoleSessions.expiresAt, new Date()),
      ),
    );
  return row ?? null;
}

/** Sign-out: the row goes, so the cookie is worthless even if someone kept a copy. */
export async function closeConsoleSession(db: Database, token: string): Promise<void> {
  await db.delete(consoleSessions).where(eq(consoleSessions.tokenHash, hashToken(token)));
}
