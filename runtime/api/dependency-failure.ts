/**
 * Tells a dependency that is down or hanging from a bug, by walking the error's cause chain
 * (drizzle wraps the driver's error; ours wrap both). Only failures to reach the dependency
 * count: a query PostgreSQL rejected for its content stays a bug (500) or the caller's input.
 */

import { DrizzleQueryError } from 'drizzle-orm';
import { errorCauses } from '../error-causes';

export type FailedDependency = 'database' | 'queue' | 'dependency';

/** Socket errors of a peer that refuses, drops or never answers a connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes of a server that cannot serve: 08 connection exception, 53 insufficient
 * resources (too many connections, out of memory or disk), 57 operator intervention
 * (shutdown, cannot connect now, query canceled).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)[0-9A-Z]{3}$/;

/** node-postgres and its pool say these without a code (`Query read timeout`: query_timeout). */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout)/;

/** ioredis says these when Redis is down or hangs (bounded retries, command timeout). */
const REDIS_CONNECTION_MESSAGE =
  /^(Connection is closed\.|Command timed out|Reached the max retries per request limit|Stream isn't writeable)/;

/**
 * The dependency whose outage `error` reports, or null when it reports something else (a bug,
 * a refused statement). The caller answers 503 with Retry-After for the first and 500 for the
 * second.
 */
export function failedDependency(error: unknown): FailedDependency | null {
  let owner: FailedDependency = 'dependency';
  let unreachable = false;
  for (const current of errorCauses(error)) {
    const { code } = current;
    if (current instanceof DrizzleQueryError) owner = 'database';
    if (typeof code === 'string' && NETWORK_CODES.has(code)) unreachable = true;
    if (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code)) {
      owner = 'database';
      unreachable = true;
    }
    if (PG_CONNECTION_MESSAGE.test(current.message)) {
      owner = 'database';
      unreachable = true;
    }
    if (
      current.name === 'MaxRetriesPerRequestError' ||
      REDIS_CONNECTION_MESSAGE.test(current.message)
    ) {
      owner = 'queue';
      unreachable = true;
    }
  }
  return unreachable ? owner : null;
}
