/**
 * PostgreSQL text and jsonb cannot hold U+0000, and jsonb refuses an unpaired UTF-16 surrogate
 * (JSON.stringify writes one as a `\udXXX` escape, which jsonb rejects; a text parameter would
 * silently become U+FFFD). Requests carrying either are refused at the API, naming where;
 * values a flow produced (outputs, errors, logs) are stored with U+FFFD in their place, so a
 * run always records its outcome.
 */

export interface UnstorablePlace {
  /** JSON path of the string or key, e.g. `steps[1].code` ('' for the value itself). */
  path: string;
  problem: string;
}

const NUL_PROBLEM = 'contains \\u0000 (NUL), which cannot be stored';
const SURROGATE_PROBLEM = 'contains an unpaired UTF-16 surrogate, which cannot be stored';

/** An unpaired surrogate: a high one not followed by a low one, or a low one not after a high. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Why PostgreSQL cannot store this text, or null. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return NUL_PROBLEM;
  if (LONE_SURROGATE.test(text)) return SURROGATE_PROBLEM;
  return null;
}

const child = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/**
 * The first string or key in a JSON value that PostgreSQL cannot store, or null. Walks with
 * its own stack, so no nesting depth can overflow the call stack.
 */
export function findUnstorable(value: unknown, rootPath = ''): UnstorablePlace | null {
  const pending: [unknown, string][] = [[value, rootPath]];
  while (pending.length > 0) {
    const [item, path] = pending.pop() as [unknown, string];
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem !== null) return { path, problem };
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], child(path, i)]);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, entry] of Object.entries(item)) {
        const keyProblem = textProblem(key);
        if (keyProblem !== null) return { path: child(path, key), problem: keyProblem };
        pending.push([entry, child(path, key)]);
      }
    }
  }
  return null;
}

/**
 * Whether JSON text can hold an unstorable string at all: after JSON.parse, U+0000 and
 * unpaired surrogates come only from `\u` escapes (the text itself was decoded from UTF-8,
 * which has neither), so most bodies skip the walk.
 */
export const mayHoldUnstorable = (jsonText: string) => jsonText.includes('\\u');

/**
 * A `\u0000` or surrogate escape in JSON text, not preceded by an odd number of backslashes;
 * an escaped high+low pair is matched whole, so it is kept.
 */
const UNSTORABLE_ESCAPE =
  /(?<!\\)((?:\\\\)*)(\\u0000|\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|\\ud[89a-f][0-9a-f]{2})/gi;

/** JSON text safe for jsonb: each escaped U+0000 or unpaired surrogate becomes U+FFFD. */
export const storableJson = (json: string) =>
  mayHoldUnstorable(json)
    ? json.replace(UNSTORABLE_ESCAPE, (whole, backslashes: string, sequence: string) =>
        sequence.length === 12 ? whole : `${backslashes}\\ufffd`,
      )
    : json;

/** Text safe for a text column: U+0000 and unpaired surrogates become U+FFFD. */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  if (text === null || textProblem(text) === null) return text;
  return text.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATES, '\ufffd');
}

/**
 * The first `maxUnits` UTF-16 units of `text`, one fewer when the cut would split a surrogate
 * pair: a preview never ends in half a character.
 */
export function previewText(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  const last = text.charCodeAt(maxUnits - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, splitsPair ? maxUnits - 1 : maxUnits);
}
