import { SECRET_NAME } from '../secrets/secret-names';
import type { PathSegment } from './template-path';

/** Why `{{secrets...}}` with these segments is not a secret reference, or null when it is. */
export function secretRefProblem(segments: readonly PathSegment[]): string | null {
  const [, name, ...rest] = segments;
  if (typeof name !== 'string' || !SECRET_NAME.test(name) || rest.length > 0) {
    return 'a secret is read as {{secrets.NAME}}, NAME matching [A-Za-z_][A-Za-z0-9_]{0,63}';
  }
  return null;
}

const IN_CODE = /\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]{0,63})\b/g;

/** The names a code step reads as `secrets.NAME`: the only secrets its input carries. */
export function codeSecretNames(code: string): string[] {
  return [...new Set([...code.matchAll(IN_CODE)].map((m) => m[1] as string))];
}
