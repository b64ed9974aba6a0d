/**
 * Whether `value`'s JSON is certainly longer than `maxBytes` UTF-8 bytes, judged without
 * serialising it. A template copies a value, so one field can hold a large value many times,
 * and JSON.stringify would build all of it (hundreds of MB, or past V8's longest string)
 * before a size check on the text could run. Counts what JSON.stringify would write for plain
 * JSON data (strings with their escapes and multi-byte characters, numbers as printed), never
 * more, and stops as soon as it passes `maxBytes`, so the walk costs at most about `maxBytes`
 * steps. The count must be close, not just a lower bound: a string of control characters
 * serialises to six bytes a character, and templates repeat whatever slack the count leaves.
 */
export function jsonCertainlyOver(value: unknown, maxBytes: number): boolean {
  let bytes = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      bytes += stringJsonBytes(item, maxBytes - bytes);
    } else if (Array.isArray(item)) {
      bytes += 1 + Math.max(item.length, 1);
      if (bytes > maxBytes) return true; // before queueing what may be millions of items
      for (const entry of item) pending.push(entry);
    } else if (item !== null && typeof item === 'object') {
      let members = 0;
      for (const key of Object.keys(item)) {
        const entry = (item as Record<string, unknown>)[key];
        if (entry === undefined) continue; // left out of JSON
        // "key": and a comma between
        bytes += stringJsonBytes(key, maxBytes - bytes) + 1 + (members++ > 0 ? 1 : 0);
        if (bytes > maxBytes) return true;
        pending.push(entry);
      }
      bytes += 2;
    } else if (typeof item === 'number') {
      bytes += Number.isFinite(item) ? String(item).length : 4; // NaN and Infinity are null
    } else if (typeof item === 'boolean') {
      bytes += item ? 4 : 5;
    } else if (item !== undefined) {
      bytes += item === null ? 4 : 1; // anything else is not JSON data: at least one character
    }
    if (bytes > maxBytes) return true;
  }
  return false;
}

/**
 * The UTF-8 bytes of `text` as a JSON string, quotes included, as JSON.stringify escapes it;
 * stops counting once past `room`.
 */
function stringJsonBytes(text: string, room: number): number {
  // Never fewer bytes than characters: a string longer than the room needs no scan.
  if (text.length + 2 > room) return text.length + 2;
  // A long string of plain ASCII is common (a forwarded body) and a regex checks it faster.
  if (text.length > 64 && PLAIN_ASCII.test(text)) return text.length + 2;
  let bytes = 2;
  for (let index = 0; index < text.length && bytes <= room; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) {
      bytes +=
        code >= 0x20 ? (code === 0x22 || code === 0x5c ? 2 : 1) : SHORT_ESCAPES.has(code) ? 2 : 6;
    } else if (code < 0x800) {
      bytes += 2;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(index + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4; // a surrogate pair is one 4-byte character
        index++;
      } else {
        bytes += 6; // a lone surrogate is written as \udXXX
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

// Printable ASCII but " and \, which JSON writes as they are.
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// \b \t \n \f \r; other control characters are written as \u00XX.
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);
