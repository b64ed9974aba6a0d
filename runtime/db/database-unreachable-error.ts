/**
 * PostgreSQL could not be reached or refused the login at start-up: a setting to fix, so its
 * message is one line naming the variable, host and reason, for the start-up log.
 */
export class DatabaseUnreachableError extends Error {
  constructor(variable: string, url: string, code: string) {
    const { hostname, port, pathname } = new URL(url);
    super(
      `cannot open the database ${variable} names (${hostname}:${port || '5432'}${pathname}): ${REASONS[code] ?? code}`,
    );
    this.name = 'DatabaseUnreachableError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'ECONNREFUSED, nothing listens there',
  ENOTFOUND: 'ENOTFOUND, the host does not resolve',
  EAI_AGAIN: 'EAI_AGAIN, the host does not resolve',
  ETIMEDOUT: 'ETIMEDOUT, no answer',
  EHOSTUNREACH: 'EHOSTUNREACH, the host is unreachable',
  '28P01': 'password authentication failed (28P01)',
  '28000': 'the server refused this user (28000)',
  '3D000': 'the database does not exist (3D000)',
};

/** The connection-level code of a start-up failure (through drizzle's and pg's causes), or null. */
export function unreachableCode(error: unknown): string | null {
  for (let link = error, depth = 0; link instanceof Error && depth < 5; depth++) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) return code;
    link = link.cause;
  }
  return null;
}
