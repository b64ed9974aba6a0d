/**
 * PostgreSQL text and jsonb cannot hold U+0000. Requests carrying it are refused at the API;
 * values a flow produced (outputs, errors) are stored with U+FFFD in its place, so a run is
 * always recorded. The sync reply and the run log keep the exact value.
 */

/** Whether a JSON value holds U+0000 in any string or key. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, item]) => key.includes('\u0000') || containsNul(item));
  }
  return false;
}

/** A \u0000 escape in JSON text, not preceded by an odd number of backslashes. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/** JSON text safe for jsonb: each escaped U+0000 becomes U+FFFD. */
export const storableJson = (json: string) =>
  json.includes('\\u0000') ? json.replace(NUL_ESCAPE, '$1\\ufffd') : json;

/** Text safe for a text column. */
export const storableText = (text: string | null) =>
  text === null || !text.includes('\u0000') ? text : text.replaceAll('\u0000', '\ufffd');
