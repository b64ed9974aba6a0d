/**
 * Replaces each secret's value with `[secret:NAME]` in everything a run records. Longer
 * values go first, so a secret that contains another is replaced whole. Besides the value, the
 * forms it takes on the way are replaced too (see secretForms): JSON text of bodies inside
 * error messages, URLs as Node prints them back, and base64 (a URL's Basic credentials).
 */
export interface Redactor {
  text(value: string): string;
  /** A copy of a JSON-like value with every string (and object key) redacted. */
  value<T>(value: T): T;
}

export const noRedaction: Redactor = { text: (value) => value, value: (value) => value };

export function createRedactor(secrets: ReadonlyMap<string, string>): Redactor {
  const replacements: [string, string][] = [];
  for (const [name, secret] of secrets) {
    if (secret === '') continue;
    for (const form of secretForms(secret)) replacements.push([form, `[secret:${name}]`]);
  }
  if (replacements.length === 0) return noRedaction;
  replacements.sort((a, b) => b[0].length - a[0].length);

  const text = (value: string) => {
    let out = value;
    for (const [secret, mark] of replacements) {
      if (out.includes(secret)) out = out.split(secret).join(mark);
    }
    return out;
  };
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(deep);
    if (value !== null && typeof value === 'object') {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) copy[text(key)] = deep(item);
      return copy;
    }
    return value;
  };
  return { text, value: <T>(value: T) => deep(value) as T };
}

/** How many times a value may have been JSON-escaped (a body quoting a body quoting it). */
const ESCAPE_DEPTH = 3;

const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** `\uXXXX` for each UTF-16 unit of `ch` (a character beyond the BMP takes two). */
const unicodeEscaped = (ch: string, upperCase = false) =>
  Array.from({ length: ch.length }, (_, i) => {
    const hex = ch.charCodeAt(i).toString(16).padStart(4, '0');
    return `\\u${upperCase ? hex.toUpperCase() : hex}`;
  }).join('');

const nonAscii = (ch: string) => (ch.codePointAt(0) ?? 0) > 0x7f;

/**
 * How other languages' JSON encoders escape a character by default where JSON.stringify does
 * not (null: as JSON.stringify does), so that a target written in one of them that echoes the
 * value as text, or quotes it in an error, is redacted too.
 */
const FOREIGN_JSON_ESCAPES: ((ch: string) => string | null)[] = [
  // PHP json_encode: "\/", and non-ASCII as \u escapes.
  (ch) => (ch === '/' ? '\\/' : nonAscii(ch) ? unicodeEscaped(ch) : null),
  // Python json.dumps (ensure_ascii): non-ASCII as \u escapes.
  (ch) => (nonAscii(ch) ? unicodeEscaped(ch) : null),
  // Go encoding/json: <, >, & and the JavaScript line separators as \u escapes.
  (ch) => ('<>&\u2028\u2029'.includes(ch) ? unicodeEscaped(ch) : null),
  // .NET System.Text.Json: non-ASCII and "&'+<>` as upper-case \u escapes.
  (ch) => (nonAscii(ch) || `"&'+<>\``.includes(ch) ? unicodeEscaped(ch, true) : null),
];

/**
 * The value, and the texts it becomes on its way into a record: JSON-escaped once to
 * ESCAPE_DEPTH times (an error quoting a body that quotes a request), as other languages' JSON
 * encoders escape it (FOREIGN_JSON_ESCAPES: once, and quoted once more), and as a parsed URL
 * prints it (percent-encoded in a path or query, lower-cased and punycoded in a host), which is
 * how Node's errors and the http step's messages show a URL, and inside base64 text (base64Forms).
 * Empty or unchanged forms are left out.
 */
export function secretForms(secret: string): Set<string> {
  const forms = new Set<string>([secret]);
  let escaped = secret;
  for (let depth = 0; depth < ESCAPE_DEPTH; depth++) {
    escaped = jsonEscaped(escaped);
    forms.add(escaped);
  }
  for (const escapeOf of FOREIGN_JSON_ESCAPES) {
    const foreign = [...secret].map((ch) => escapeOf(ch) ?? jsonEscaped(ch)).join('');
    forms.add(foreign);
    forms.add(jsonEscaped(foreign));
  }
  // encodeURIComponent throws on a lone surrogate, which a stored secret cannot hold anyway.
  if (!/\p{Surrogate}/u.test(secret)) forms.add(encodeURIComponent(secret));
  forms.add(new URLSearchParams([['v', secret]]).toString().slice(2));
  // Only where the URL parser keeps the value in one piece: a value with `..` segments, or
  // one that reads as a user, port or path in a host, would leave a fragment of itself, which
  // is no secret and would be redacted wherever it appears.
  const inPath = parsed(`http://h/${secret}`);
  const path = inPath?.pathname.slice(1);
  if (
    inPath !== null &&
    path !== undefined &&
    inPath.search === '' &&
    inPath.hash === '' &&
    path.split('/').length === secret.split('/').length
  ) {
    forms.add(path);
  }
  if (/^[^\s/\\:@?#[\]%]+$/.test(secret)) {
    const inHost = parsed(`http://${secret}.h/`);
    if (inHost?.hostname.endsWith('.h')) forms.add(inHost.hostname.slice(0, -2));
  }
  for (const form of base64Forms(secret)) forms.add(form);
  forms.delete('');
  return forms;
}

/**
 * Fewest base64 characters a value's base64 form must have to be redacted: shorter ones
 * (values under 5 bytes) would also match inside unrelated base64 data, such as a file.
 */
const MIN_BASE64_FORM = 6;

/**
 * The value as it shows inside base64 text (standard and URL-safe): a URL's `user:password`
 * sent as a Basic authorization header, which a target may echo, or a code step's btoa. Where
 * the value starts inside base64's 3-byte groups moves its characters, so each of the three
 * offsets gives a form: the characters that encode the value's bits alone. The one or two at
 * each end, which also encode neighbouring bytes, stay; they carry at most 4 bits of it each.
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const placed = Buffer.concat([Buffer.alloc(offset), bytes]);
    const firstBit = offset * 8;
    const endBit = firstBit + bytes.length * 8;
    const first = Math.ceil(firstBit / 6);
    const end = Math.floor(endBit / 6);
    if (end - first < MIN_BASE64_FORM) continue;
    for (const encoding of ['base64', 'base64url'] as const) {
      forms.push(placed.toString(encoding).slice(first, end));
    }
  }
  return forms;
}

function parsed(url: string): URL | null {
  return URL.canParse(url) ? new URL(url) : null;
}
