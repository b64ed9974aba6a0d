import { describe, expect, it } from 'vitest';
import {
  findUnstorable,
  previewText,
  storableJson,
  storableText,
} from '../../../runtime/db/storable-text';

describe('text PostgreSQL cannot store', () => {
  it('finds U+0000 and unpaired surrogates in strings and keys at any depth, naming the path', () => {
    expect(findUnstorable({ a: [1, { b: 'x\u0000' }] })).toMatchObject({ path: 'a[1].b' });
    expect(findUnstorable({ 'k\u0000': 1 })?.path).toBe('k\u0000');
    expect(findUnstorable({ a: ['\\u0000', 1, null] })).toBeNull();
    expect(findUnstorable({ a: 'ok\ud800' })).toEqual({
      path: 'a',
      problem: expect.stringContaining('unpaired UTF-16 surrogate'),
    });
    expect(findUnstorable(['\udc00x'], 'body')?.path).toBe('body[0]');
    expect(findUnstorable({ '\udbff': true })?.problem).toContain('surrogate');
    expect(findUnstorable({ a: 'emoji \ud83d\ude00 is a pair' })).toBeNull();
  });

  it('walks nesting far deeper than the call stack allows', () => {
    let deep: unknown = 'bottom\ud800';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorable(deep)?.problem).toContain('surrogate');
  });

  it('replaces escaped U+0000 and unpaired surrogates in JSON text, and only real escapes', () => {
    const json = JSON.stringify({
      a: 'x\u0000y',
      b: '\\u0000',
      c: '\\\u0000',
      d: 'lone \ud800 high',
      e: 'lone \udfff low',
      f: 'pair \ud83d\ude00',
      g: '\\ud800',
    });
    const stored = JSON.parse(storableJson(json));
    expect(stored).toEqual({
      a: 'x\ufffdy',
      b: '\\u0000',
      c: '\\\ufffd',
      d: 'lone \ufffd high',
      e: 'lone \ufffd low',
      f: 'pair \ud83d\ude00',
      g: '\\ud800',
    });
    expect(storableJson('"\\ud83d\\ude00"')).toBe('"\\ud83d\\ude00"');
    expect(storableJson('"\\ud83d\\ud83d"')).toBe('"\\ufffd\\ufffd"');
    expect(storableJson('{"a":1}')).toBe('{"a":1}');
  });

  it('replaces U+0000 and unpaired surrogates in text', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('a\ud800b\udc00\ud83d\ude00')).toBe('a\ufffdb\ufffd\ud83d\ude00');
    expect(storableText(null)).toBeNull();
  });

  it('cuts previews on whole code points', () => {
    expect(previewText('ab\ud83d\ude00', 3)).toBe('ab');
    expect(previewText('ab\ud83d\ude00', 4)).toBe('ab\ud83d\ude00');
    expect(previewText('abcd', 2)).toBe('ab');
  });
});
