import { describe, expect, it } from 'vitest';
import { jsonCertainlyOver } from '../../../runtime/engine/json-size';

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('jsonCertainlyOver', () => {
  // Each of these serialises to several times its string length or value count: a bound that
  // counted one byte per character or number let templates repeat them far past the cap.
  it.each([
    ['control characters', { s: '\u0001'.repeat(100) }],
    ['quotes, backslashes and line breaks', ['"\\\n'.repeat(50)]],
    ['lone surrogates', '\ud800x\udc00'.repeat(30)],
    ['characters beyond ASCII', 'é€😀'.repeat(40)],
    ['numbers that print long', Array(40).fill(1e20).concat([-1.5e-7, 0.1, -0])],
    ['non-finite numbers, booleans and null', [Number.NaN, Infinity, true, false, null]],
    ['keys that need escapes', { 'a"\u0002é': 1, [`k${'\n'.repeat(20)}`]: 'v' }],
    ['a long plain string', 'x'.repeat(100)],
    ['a long string with one escape', `${'p'.repeat(100)}\u0007`],
    ['a mixed document', { a: [1, 'two', { three: 3.25, four: [null, false] }], b: '' }],
  ])('measures %s at exactly their JSON size', (_what, value) => {
    const bytes = jsonBytes(value);
    expect(jsonCertainlyOver(value, bytes)).toBe(false);
    expect(jsonCertainlyOver(value, bytes - 1)).toBe(true);
  });

  it('leaves out undefined members, as JSON does', () => {
    const value = { a: 1, b: undefined, c: 'x' };
    expect(jsonCertainlyOver(value, jsonBytes(value))).toBe(false);
    expect(jsonCertainlyOver(value, jsonBytes(value) - 1)).toBe(true);
  });
});
