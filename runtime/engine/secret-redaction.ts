/**
 * Replaces each secret's value with `[secret:NAME]` in everything a run records. Longer
 * values go first, so a secret that contains another is replaced whole. The JSON-escaped
 * form is replaced too, since error messages carry JSON text of bodies.
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
    replacements.push([secret, `[secret:${name}]`]);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) replacements.push([escaped, `[secret:${name}]`]);
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
