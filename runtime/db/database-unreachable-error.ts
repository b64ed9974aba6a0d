import { POSTGRES_TIMEOUT_MS } from './client';

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

const refusedCertificate = (code: string) =>
  `the server's TLS certificate was refused (${code}); see SLUICE_DB_CA and sslmode`;

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'ECONNREFUSED, nothing listens there',
  ENOTFOUND: 'ENOTFOUND, the host does not resolve',
  EAI_AGAIN: 'EAI_AGAIN, the host does not resolve',
  ETIMEDOUT: 'ETIMEDOUT, no answer',
  EHOSTUNREACH: 'EHOSTUNREACH, the host is unreachable',
  ENETUNREACH: 'ENETUNREACH, the network is unreachable',
  ECONNRESET: 'ECONNRESET, the connection was reset',
  '28P01': 'password authentication failed (28P01)',
  '28000': 'the server refused this user (28000)',
  '3D000': 'the database does not exist (3D000)',
  '57P01': 'the server ended the connection (57P01: a restart, a failover or an administrator)',
  '57P02': 'the server ended the connection (57P02: a crash)',
  '57P03': 'the server is starting up or shutting down (57P03)',
  CONNECT_TIMEOUT: `no answer within ${POSTGRES_TIMEOUT_MS / 1000} s (a firewall that drops the connection, or a server that hangs)`,
  NO_TLS: 'the server does not offer TLS, which sslmode or SLUICE_DB_CA asks for',
  TLS_FAILED: 'the server could not start TLS',
  CLOSED: 'the server closed the connection',
  ...Object.fromEntries(
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ].map((code) => [code, refusedCertificate(code)]),
  ),
};

/**
 * node-postgres's own failures to connect carry no code, only these messages: pg-pool's
 * connect timeout (a host that drops the SYN, or a server that accepts and never answers),
 * and the answers to its TLS request.
 */
const PG_MESSAGES: Record<string, string> = {
  'Connection terminated due to connection timeout': 'CONNECT_TIMEOUT',
  'The server does not support SSL connections': 'NO_TLS',
  'There was an error establishing an SSL connection': 'TLS_FAILED',
  'Connection terminated unexpectedly': 'CLOSED',
};

/** The connection-level code of a start-up failure (through drizzle's and pg's causes), or null. */
export function unreachableCode(error: unknown): string | null {
  for (let link = error, depth = 0; link instanceof Error && depth < 5; depth++) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) return code;
    const known = PG_MESSAGES[link.message];
    if (known !== undefined) return known;
    link = link.cause;
  }
  return null;
}
