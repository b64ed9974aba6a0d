/**
 * The deepest JSON nesting the API accepts, in webhook bodies and management bodies alike.
 * Deeper documents answer 400: PostgreSQL's jsonb and every recursive walk over a value have a
 * stack, and no real payload needs more (serde_json's default is the same 128).
 */
export const MAX_JSON_DEPTH = 128;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/** What `scanJsonText` finds in JSON text, before it is parsed. */
export interface JsonTextShape {
  /** Objects and arrays nest deeper than the depth asked about. */
  tooDeep: boolean;
  /**
   * About how many values parsing builds: one, plus one per `[`, `{`, `,` and `:` outside
   * strings (a member counts its key too). Exact only when `tooDeep` is false.
   */
  values: number;
}

/**
 * Judges JSON text before it is parsed (brackets and commas inside strings do not count): how
 * deep it nests, and how many values it holds, which is what its parsed size grows with.
 */
export function scanJsonText(text: string, maxDepth = MAX_JSON_DEPTH): JsonTextShape {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      values++;
      if (++depth > maxDepth) return { tooDeep: true, values };
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      depth--;
    } else if (char === COMMA || char === COLON) {
      values++;
    }
  }
  return { tooDeep: false, values };
}

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, judged on the text before
 * it is parsed (brackets inside strings do not count). Text shorter than the limit cannot be.
 */
export const nestsDeeperThan = (text: string, maxDepth = MAX_JSON_DEPTH): boolean =>
  text.length > maxDepth && scanJsonText(text, maxDepth).tooDeep;
