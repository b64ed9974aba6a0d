/**
 * Template paths such as `calc.n`, `x.items.0`, `x.items[0]` or `trigger.headers["x-id"]`,
 * parsed into segments and walked over plain data. No evaluation, no prototype lookups.
 */

export type PathSegment = string | number;

const DOT_SEGMENT = /^[^.[\]\s'"]+/;
const BRACKET_SEGMENT = /^\[(?:(\d+)|"([^"]*)"|'([^']*)')\]/;
const ROOT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a path, or returns a message saying why it is not one. */
export function parsePath(text: string): { segments: PathSegment[] } | { error: string } {
  const segments: PathSegment[] = [];
  let rest = text;
  while (rest.length > 0) {
    if (segments.length > 0 && rest.startsWith('.')) rest = rest.slice(1);
    const bracket = segments.length > 0 ? BRACKET_SEGMENT.exec(rest) : null;
    if (bracket) {
      const [match, index, doubleQuoted, singleQuoted] = bracket;
      segments.push(index !== undefined ? Number(index) : (doubleQuoted ?? singleQuoted ?? ''));
      rest = rest.slice(match.length);
      continue;
    }
    const dot = DOT_SEGMENT.exec(rest);
    if (!dot) return { error: `cannot read the path at "${rest}"` };
    segments.push(/^\d+$/.test(dot[0]) ? Number(dot[0]) : dot[0]);
    rest = rest.slice(dot[0].length);
  }
  const [root] = segments;
  if (typeof root !== 'string' || !ROOT_NAME.test(root)) {
    return { error: 'a path starts with trigger or a step id' };
  }
  return { segments };
}

const NOT_FOUND = Symbol('not found');

/** Follows `segments` from `start` through own properties and array indexes. */
export function walkPath(
  start: unknown,
  segments: readonly PathSegment[],
): unknown | typeof NOT_FOUND {
  let current = start;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      const index = typeof segment === 'number' ? segment : segment === 'length' ? -1 : Number.NaN;
      if (index === -1) current = current.length;
      else if (Number.isInteger(index) && index < current.length) current = current[index];
      else return NOT_FOUND;
    } else if (current !== null && typeof current === 'object') {
      const key = String(segment);
      if (!Object.hasOwn(current, key)) return NOT_FOUND;
      current = (current as Record<string, unknown>)[key];
    } else {
      return NOT_FOUND;
    }
  }
  return current;
}

export function isNotFound(value: unknown): value is typeof NOT_FOUND {
  return value === NOT_FOUND;
}
