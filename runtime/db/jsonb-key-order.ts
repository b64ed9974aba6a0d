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
  const entries = Object.entries(value).map(
    ([key, item]) => [Buffer.from(key), key, item] as const,
  );
  entries.sort(([a], [b]) => a.length - b.length || Buffer.compare(a, b));
  // fromEntries defines own properties, so a "__proto__" key stays a key, as in JSON.parse.
  return Object.fromEntries(entries.map(([, key, item]) => [key, inJsonbKeyOrder(item)]));
}
