import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Database } from '../../db/client';
import { findConsoleSession } from '../../db/console-session-store';
import { findProjectIdByApiKey } from '../../db/project-store';
import type { AuthFailureLimiter } from '../auth-failure-limiter';
import { readSessionCookie } from '../console-session-cookie';
import { ApiError } from '../errors';

export type AuthVariables = { projectId: string };

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });

const tooManyAttempts = (retryAfterS: number) =>
  new ApiError(
    429,
    'too_many_attempts',
    `too many invalid API keys from this address; try again in ${retryAfterS} s`,
    undefined,
    { 'Retry-After': String(retryAfterS) },
  );

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Compared as UTF-8 bytes, whose count a header's non-ASCII text can change, in constant time. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Resolves `Authorization: Bearer <api key>` to the key's project; without that header, the
 * console's session cookie. A cookie is sent by the browser on its own, so a state-changing
 * request on a session must also carry the session's CSRF token in X-CSRF-Token.
 */
export const bearerAuth = ({
  db,
  publicUrl,
  limiter,
  addressOf,
}: {
  db: Database;
  /** SLUICE_PUBLIC_URL: whether the session cookie carries the `__Host-` prefix. */
  publicUrl: string;
  limiter: AuthFailureLimiter;
  /** The client address the limiter counts against (see client-address.ts). */
  addressOf: (c: Context) => string;
}): MiddlewareHandler<{ Variables: AuthVariables }> =>
  async function bearerAuth(c, next) {
    const header = c.req.header('authorization');
    const sessionToken = header === undefined ? readSessionCookie(c, publicUrl) : undefined;
    if (sessionToken !== undefined) {
      const session = await findConsoleSession(db, sessionToken);
      if (session === null) throw unauthorized('the console session has ended; sign in again');
      const csrf = c.req.header('x-csrf-token');
      if (
        !SAFE_METHODS.has(c.req.method) &&
        (csrf === undefined || !sameToken(csrf, session.csrfToken))
      ) {
        throw new ApiError(403, 'csrf_rejected', 'missing or wrong X-CSRF-Token for this session');
      }
      c.set('projectId', session.projectId);
      return next();
    }
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match?.[1] === undefined) throw unauthorized('missing Authorization: Bearer <api key>');
    // Checked before the key, and a right key refused too: otherwise a guesser held back
    // would still learn which guess was right.
    const address = addressOf(c);
    const retryAfterS = limiter.retryAfterS(address);
    if (retryAfterS > 0) throw tooManyAttempts(retryAfterS);
    const projectId = await findProjectIdByApiKey(db, match[1]);
    if (projectId === null) {
      limiter.failed(address);
      throw unauthorized('invalid api key');
    }
    c.set('projectId', projectId);
    await next();
  };
