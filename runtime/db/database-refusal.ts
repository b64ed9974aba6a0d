/**
 * Classifies PostgreSQL errors by SQLSTATE, found anywhere on the cause chain (drizzle wraps
 * the driver's error). Works for node-postgres and PGlite, which both set `code`.
 */

import { errorCauses } from '../error-causes';

function sqlState(error: unknown): string | null {
  for (const { code } of errorCauses(error)) {
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

/**
 * The server refused the data of a statement (class 22 data exception, such as an unpaired
 * surrogate in jsonb, or class 54 program limit, such as jsonb nested too deep): the same
 * statement with other data would succeed, so it says nothing about the database's health.
 */
export function isDataRefusal(error: unknown): boolean {
  const state = sqlState(error);
  return state !== null && (state.startsWith('22') || state.startsWith('54'));
}
