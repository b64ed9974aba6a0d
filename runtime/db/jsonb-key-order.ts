/**
 * A JSON value with its object keys in the order PostgreSQL's jsonb keeps them: shorter keys
 * first, then byte order of their UTF-8. A run read back from its row sees its trigger in
 * that order, so a copy handed to a worker directly must match it, or a flow would see
 * `Object.keys` (and forward bodies) in a different order depending on where its trigger came
 * from. JavaScript still lists integer-like keys first, in both cases alike.
 */
export function inJsonbKeyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inJsonbKeyOrder);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort(jsonbKeyCompare);
  const source = value as Record<string, unknown>;
  // fromEntries defines own properties, so a "__proto__" key stays a key, as in JSON.parse.
  return Object.fromEntries(keys.map((key) => [key, inJsonbKeyOrder(source[key])]));
}

function jsonbKeyCompare(a: string, b: string): number {
  const bytes = Buffer.byteLength(a);
  const byLength = bytes - Buffer.byteLength(b);
  if (byLength !== 0) return byLength;
  // As many bytes as UTF-16 units means ASCII on both sides (same byte length), where UTF-16
  // order is UTF-8 byte order; only other text needs its bytes compared.
  if (bytes === a.length && bytes === b.length) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
