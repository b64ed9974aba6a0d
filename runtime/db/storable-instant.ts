/**
 * Drizzle sends an instant to PostgreSQL as `toISOString()` text, which PostgreSQL reads only
 * with a four-digit year from 0001 (its calendar has no year 0; JavaScript writes years past
 * 9999 or before 0 as `+275760-…` or `-000001-…`, which it refuses). Instants a caller sends
 * are checked against this range before they reach a query.
 */
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

export const STORABLE_INSTANTS = 'between 0001-01-01 and 9999-12-31 (UTC)';

/** Whether `date` is a valid instant PostgreSQL can be sent. */
export function isStorableInstant(date: Date): boolean {
  const ms = date.getTime();
  return ms >= FIRST_MS && ms <= LAST_MS;
}
