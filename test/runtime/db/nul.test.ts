import { describe, expect, it } from 'vitest';
import { containsNul, storableJson, storableText } from '../../../runtime/db/nul';

describe('NUL handling for PostgreSQL', () => {
  it('finds U+0000 in strings and keys at any depth', () => {
    expect(containsNul({ a: [1, { b: 'x\u0000' }] })).toBe(true);
    expect(containsNul({ 'k\u0000': 1 })).toBe(true);
    expect(containsNul({ a: ['\\u0000', 1, null] })).toBe(false);
  });

  it('replaces escaped U+0000 in JSON text, and only real escapes', () => {
    const json = JSON.stringify({ a: 'x\u0000y', b: '\\u0000', c: '\\\u0000' });
    const stored = JSON.parse(storableJson(json));
    expect(stored).toEqual({ a: 'x\ufffdy', b: '\\u0000', c: '\\\ufffd' });
    expect(storableJson('{"a":1}')).toBe('{"a":1}');
  });

  it('replaces U+0000 in text', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText(null)).toBeNull();
  });
});
