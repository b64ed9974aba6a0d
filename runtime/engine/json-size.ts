/**
 * Whether `value`'s JSON is certainly longer than `maxBytes` UTF-8 bytes, judged without
 * serialising it. A template copies a value, so one field can hold a large value many times,
 * and JSON.stringify would build all of it (hundreds of MB, or past V8's longest string)
 * before a size check on the text could run. Counts a lower bound (a string's UTF-16 length,
 * which its UTF-8 never undercuts, plus quotes, keys and separators) and stops as soon as it
 * passes `maxBytes`, so the walk costs at most about `maxBytes` steps.
 */
export function jsonCertainlyOver(value: unknown, maxBytes: number): boolean {
  let bytes = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      bytes += item.length + 2;
    } else if (Array.isArray(item)) {
      bytes += 1 + Math.max(item.length, 1);
      if (bytes > maxBytes) return true; // before queueing what may be millions of items
      for (const entry of item) pending.push(entry);
    } else if (item !== null && typeof item === 'object') {
      let members = 0;
      for (const key of Object.keys(item)) {
        const entry = (item as Record<string, unknown>)[key];
        if (entry === undefined) continue; // left out of JSON
        bytes += key.length + 3 + (members++ > 0 ? 1 : 0); // "key": and a comma between
        pending.push(entry);
      }
      bytes += 2;
    } else if (item !== undefined) {
      bytes += 1; // a number, boolean or null is at least one character
    }
    if (bytes > maxBytes) return true;
  }
  return false;
}
