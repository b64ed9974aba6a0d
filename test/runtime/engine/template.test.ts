import { describe, expect, it } from 'vitest';
import type { JsonBound } from '../../../runtime/engine/json-bound';
import { outputOf, RunScope } from '../../../runtime/engine/run-scope';
import { resolveTemplates } from '../../../runtime/engine/template';
import { triggerOf } from './flow-fixtures';

function scopeWith(
  outputs: Record<string, unknown>,
  trigger = triggerOf({ n: 2, tags: ['a', 'b'] }),
) {
  const scope = RunScope.forTrigger(trigger);
  for (const [id, value] of Object.entries(outputs)) scope.set(id, outputOf(value));
  return scope;
}

const bound: JsonBound = { limit: 'maxRunLogBytes', maxBytes: 1024 * 1024 };

describe('resolveTemplates', () => {
  const scope = scopeWith({
    calc: { n: 42, ok: true, none: null, obj: { a: 1 } },
    x: { items: ['zero', 'one', { deep: 'two' }] },
  });

  it.each([
    ['{{calc.n}}', 42],
    ['{{calc.ok}}', true],
    ['{{calc.none}}', null],
    ['{{calc.obj}}', { a: 1 }],
    ['{{ calc.n }}', 42],
    ['{{trigger.body.tags}}', ['a', 'b']],
  ])('keeps the type of a value that is exactly %s', (template, expected) => {
    expect(resolveTemplates(template, scope, { bound })).toEqual(expected);
  });

  it('keeps a "__proto__" key of the definition as a key, never as the prototype', () => {
    const definition = JSON.parse('{"__proto__":{"n":"{{calc.n}}"},"b":"{{trigger.body}}"}');
    const resolved = resolveTemplates(definition, scope, { bound }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(JSON.stringify(resolved)).toBe('{"__proto__":{"n":42},"b":{"n":2,"tags":["a","b"]}}');
  });

  it('turns mixed text into a string, JSON-stringifying objects', () => {
    expect(
      resolveTemplates('n={{calc.n}} obj={{calc.obj}} none={{calc.none}}', scope, { bound }),
    ).toBe('n=42 obj={"a":1} none=null');
  });

  it('reads array indexes with dots and with brackets', () => {
    expect(resolveTemplates('{{x.items.0}}', scope, { bound })).toBe('zero');
    expect(resolveTemplates('{{x.items[1]}}', scope, { bound })).toBe('one');
    expect(resolveTemplates('{{x.items[2].deep}}', scope, { bound })).toBe('two');
  });

  it('reads header names with dashes, plain or quoted', () => {
    const withHeaders = scopeWith({}, triggerOf(null, { headers: { 'x-request-id': 'r1' } }));
    expect(resolveTemplates('{{trigger.headers.x-request-id}}', withHeaders, { bound })).toBe('r1');
    expect(resolveTemplates('{{trigger.headers["x-request-id"]}}', withHeaders, { bound })).toBe(
      'r1',
    );
  });

  it('resolves through nested objects and arrays, leaving keys alone', () => {
    expect(
      resolveTemplates({ '{{calc.n}}': ['{{calc.n}}', { v: 'n is {{calc.n}}' }], k: 7 }, scope, {
        bound,
      }),
    ).toEqual({ '{{calc.n}}': [42, { v: 'n is 42' }], k: 7 });
  });

  it('fails with the template and the path when the path is missing', () => {
    expect(() => resolveTemplates('{{calc.m}}', scope, { bound })).toThrow(
      'template {{calc.m}}: path "calc.m" not found',
    );
  });

  it('says which step has not run when the root is missing', () => {
    expect(() => resolveTemplates('x {{notify.status}}', scope, { bound })).toThrow(
      'template {{notify.status}}: path "notify.status" not found (step notify has not run)',
    );
  });

  it('does not walk into prototypes', () => {
    expect(() => resolveTemplates('{{calc.constructor}}', scope, { bound })).toThrow('not found');
    expect(() => resolveTemplates('{{calc.obj.__proto__}}', scope, { bound })).toThrow('not found');
    expect(() => resolveTemplates('{{x.items.length.toString}}', scope, { bound })).toThrow(
      'not found',
    );
  });

  it('fails on an index past the end of an array', () => {
    expect(() => resolveTemplates('{{x.items.9}}', scope, { bound })).toThrow(
      'template {{x.items.9}}: path "x.items.9" not found',
    );
  });

  it('leaves strings without templates untouched', () => {
    expect(resolveTemplates('plain {text}', scope, { bound })).toBe('plain {text}');
  });

  it('resolves a missing path to undefined when asked to', () => {
    expect(
      resolveTemplates('{{calc.m}}', scope, { bound, missingAsUndefined: true }),
    ).toBeUndefined();
  });

  it('fails by the bound a text template that would pass it, before building the text', () => {
    const large = scopeWith({ big: { s: 'x'.repeat(600), obj: { s: 'y'.repeat(600) } } });
    const small: JsonBound = { limit: 'maxStepOutputBytes', maxBytes: 1000 };
    expect(resolveTemplates('{{big.s}}-{{big.s}}', large, { bound })).toHaveLength(1201);
    for (const text of ['{{big.s}}{{big.s}}', 'a{{big.obj}}{{big.s}}', '{{big.obj}}{{big.obj}}']) {
      expect(() => resolveTemplates(text, large, { bound: small })).toThrow(
        expect.objectContaining({
          name: 'LimitExceededError',
          limit: 'maxStepOutputBytes',
          message: 'a text template is over maxStepOutputBytes (1000) before it is serialised',
        }),
      );
    }
  });

  it('builds a text template that fits its bound exactly', () => {
    const large = scopeWith({ big: { s: 'x'.repeat(500) } });
    const exact: JsonBound = { limit: 'maxStepOutputBytes', maxBytes: 1000 };
    expect(resolveTemplates('{{big.s}}{{big.s}}', large, { bound: exact })).toHaveLength(1000);
  });
});
