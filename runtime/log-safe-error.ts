/**
 * The log's view of an error: what happened, never the values involved. Driver errors carry
 * data: drizzle's "Failed query" message holds every parameter (webhook bodies, secrets), and
 * PostgreSQL's `detail`/`where` quote row values, and its data exceptions' messages quote the
 * value refused. Only fixed fields are kept from each link of the cause chain, and a stack keeps
 * its frames but not its first line (the raw message).
 */

const MAX_QUERY_CHARS = 200;
const MAX_CAUSE_DEPTH = 5;
/** PostgreSQL error fields that name things (codes, tables), never values. */
const NAMING_FIELDS = ['code', 'severity', 'routine', 'table', 'column', 'constraint'] as const;

export interface SafeError {
  type: string;
  message: string;
  stack?: string;
  cause?: SafeError;
  [field: string]: unknown;
}

/** A pino serializer for `err`. */
export function safeError(error: unknown, depth = 0): SafeError {
  if (!(error instanceof Error)) return { type: typeof error, message: 'a non-Error was thrown' };
  const record = error as Error & Record<string, unknown>;
  const isQueryError = typeof record.query === 'string' && 'params' in record;
  const type = isQueryError ? 'DrizzleQueryError' : error.name || 'Error';
  const safe: SafeError = {
    type,
    message: isQueryError ? 'failed query (parameters not logged)' : messageWithoutValue(record),
  };
  if (isQueryError) safe.query = (record.query as string).slice(0, MAX_QUERY_CHARS);
  for (const field of NAMING_FIELDS) {
    const value = record[field];
    if (typeof value === 'string' || typeof value === 'number') safe[field] = value;
  }
  if (typeof error.stack === 'string') {
    const frames = error.stack.split('\n').filter((line) => line.startsWith('    at '));
    safe.stack = [`${type}: ${safe.message}`, ...frames].join('\n');
  }
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    safe.cause = safeError(error.cause, depth + 1);
  }
  return safe;
}

/**
 * An error's message, but for PostgreSQL's data exceptions (SQLSTATE class 22) only what comes
 * before the value they quote: `invalid input syntax for type integer: "<the value>"`.
 */
function messageWithoutValue(error: Error & Record<string, unknown>): string {
  const message = String(error.message);
  const isDataException =
    typeof error.severity === 'string' &&
    typeof error.code === 'string' &&
    /^22[0-9A-Z]{3}$/.test(error.code);
  if (!isDataException) return message;
  const colon = message.indexOf(': ');
  return colon === -1 ? message : message.slice(0, colon);
}
