import { describe, expect, it } from 'vitest';
import {
  eachVariant,
  FOREVER,
  failsWith,
  TRAPS_NEVER_RETURN,
  useHostileSandbox,
} from './code-sandbox-cases';

// Before the fix, code that ran once the step had been reported (a finalizer, a callback)
// held the isolate's thread, and every later step of the worker queued behind it.
describe('a code step that leaves work to run after it returns', () => {
  const hostile = useHostileSandbox();

  it('cannot register a callback with FinalizationRegistry or WeakRef', async () => {
    await eachVariant(
      hostile,
      {
        registry: `export default () => { const r = new FinalizationRegistry(() => { ${FOREVER} }); for (let i = 0; i < 1e4; i++) r.register({}, i); return 1 }`,
        weakRef: 'export default () => new WeakRef({}).deref()',
      },
      failsWith('error', /^ReferenceError: (FinalizationRegistry|WeakRef) is not defined$/),
    );
    await eachVariant(
      hostile,
      {
        registryAtTopLevel: `new FinalizationRegistry(() => { ${FOREVER} }).register({}, 1);\nexport default () => 1`,
      },
      failsWith('error', 'top-level statements'),
    );
  });

  it('stops microtasks that keep running after the step returned', async () => {
    await eachVariant(
      hostile,
      {
        thenAfterReturn: `export default () => { Promise.resolve().then(() => { ${FOREVER} }); return 1 }`,
        endlessChain:
          'function again() { Promise.resolve().then(again) }\nexport default () => { again(); return 1 }',
        asyncLoop: 'export default () => { (async () => { for (;;) await null })(); return 1 }',
        afterTheResultSettled: `export default async () => { const done = Promise.resolve(1); done.then(() => null).then(() => { ${FOREVER} }); return done }`,
        atTopLevel: '(async () => { for (;;) await null })();\nexport default () => 1',
      },
      failsWith('timeout'),
    );
  });

  it('stops a thenable returned as the result whose then never returns', async () => {
    await eachVariant(
      hostile,
      {
        thenLoops: `export default () => ({ then() { ${FOREVER} } })`,
        thenGetterLoops: `export default () => ({ get then() { ${FOREVER} } })`,
        resolvesAnother: `export default async () => ({ then(resolve) { resolve({ then() { ${FOREVER} } }) } })`,
        rejectsWithProxy: `export default () => ({ then(_, reject) { reject(${TRAPS_NEVER_RETURN}) } })`,
        neverCallsBack: 'export default () => ({ then() {} })',
        neverSettles: 'export default () => new Promise(() => {})',
      },
      failsWith('timeout'),
    );
  });

  it('stops a result whose serialisation never returns', async () => {
    await eachVariant(
      hostile,
      {
        toJSON: `export default () => ({ toJSON() { ${FOREVER} } })`,
        getter: `export default () => ({ get total() { ${FOREVER} } })`,
        nested: `export default () => [1, { a: { get b() { ${FOREVER} } } }]`,
        proxy: `export default () => ${TRAPS_NEVER_RETURN}`,
      },
      failsWith('timeout'),
    );
    await eachVariant(
      hostile,
      {
        getterThrowsRevokedProxy:
          'export default () => ({ get total() { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); throw proxy } })',
        toJSONThrowsSymbol: "export default () => ({ toJSON() { throw Symbol('s') } })",
      },
      failsWith('error', /^output is not JSON-serialisable: /),
    );
  });

  it('fails top-level code that never finishes at once, without waiting for the cap', async () => {
    const started = performance.now();
    await eachVariant(
      hostile,
      { pendingTopLevelAwait: 'await new Promise(() => {});\nexport default () => 1' },
      failsWith('error', 'top-level statements'),
      5000,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
