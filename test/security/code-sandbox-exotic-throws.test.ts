import { describe, expect, it } from 'vitest';
import { CARRIED_DESCRIPTION_LENGTH } from '../../runtime/engine/code-step-harness';
import { describedFailure } from '../../runtime/engine/steps/code-step';
import {
  eachVariant,
  FOREVER,
  failsWith,
  runThenRecover,
  TRAPS_NEVER_RETURN,
  useHostileSandbox,
} from './code-sandbox-cases';

// Before the fix, isolated-vm read a thrown value's message, stack and name on the isolate's
// thread after the time cap stopped counting: these values held that thread for good.
describe('a code step that throws an exotic value', () => {
  const hostile = useHostileSandbox();

  it('survives a thrown Proxy whose traps never return', async () => {
    await eachVariant(
      hostile,
      {
        thrown: `export default () => { throw ${TRAPS_NEVER_RETURN} }`,
        afterAwait: `export default async () => { await null; throw ${TRAPS_NEVER_RETURN} }`,
        getTrapOnly: `export default () => { throw new Proxy({}, { get() { ${FOREVER} } }) }`,
        prototypeTrapOnly: `export default () => { throw new Proxy({}, { getPrototypeOf() { ${FOREVER} } }) }`,
      },
      failsWith('timeout'),
    );
    await eachVariant(
      hostile,
      {
        topLevel: `throw ${TRAPS_NEVER_RETURN};\nexport default () => 1`,
        topLevelAfterAwait: `await null;\nthrow ${TRAPS_NEVER_RETURN};\nexport default () => 1`,
        trapThrowsAnother: `export default () => { throw new Proxy({}, { get() { throw ${TRAPS_NEVER_RETURN} } }) }`,
        revoked:
          'export default () => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); throw proxy }',
      },
      failsWith('error'),
    );
  });

  it('survives an error object whose getters never return', async () => {
    const withGetter = (property: string) =>
      `const e = new Error('x'); Object.defineProperty(e, '${property}', { get() { ${FOREVER} } });`;
    await eachVariant(
      hostile,
      {
        plainObject: `export default () => { throw { get message() { ${FOREVER} } } }`,
        message: `export default () => { ${withGetter('message')} throw e }`,
        name: `export default () => { ${withGetter('name')} throw e }`,
        subclass: `class Bad extends Error { get message() { ${FOREVER} } }\nexport default () => { throw new Bad() }`,
        rejected: `export default async () => { ${withGetter('message')} throw e }`,
      },
      failsWith('timeout'),
    );
    await eachVariant(
      hostile,
      {
        stackNeverRead: `export default () => { ${withGetter('stack')} throw e }`,
        topLevel: `${withGetter('message')}\nthrow e;\nexport default () => 1`,
      },
      failsWith('error'),
    );
  });

  it('survives Error.prepareStackTrace that never returns', async () => {
    const loop = `Error.prepareStackTrace = () => { ${FOREVER} };`;
    await eachVariant(
      hostile,
      {
        thrownError: `${loop}\nexport default () => { throw new TypeError('bad input') }`,
        rejectedError: `${loop}\nexport default async () => { await null; throw new Error('later') }`,
        capturedStack: `${loop}\nexport default () => { const o = {}; Error.captureStackTrace(o); throw o }`,
      },
      failsWith('error'),
    );
    await eachVariant(
      hostile,
      {
        topLevel: `${loop}\nthrow new Error('x');\nexport default () => 1`,
        returnsProxy: `Error.prepareStackTrace = () => ${TRAPS_NEVER_RETURN};\nexport default () => { throw new Error('x') }`,
      },
      failsWith('error'),
    );
    // Code that reads the stack itself runs under the cap like any other code.
    await eachVariant(
      hostile,
      { readByTheStep: `${loop}\nexport default () => new Error('x').stack` },
      failsWith('timeout'),
    );
  });

  it('survives thrown values whose conversions never return', async () => {
    const conversions = `toString() { ${FOREVER} }, valueOf() { ${FOREVER} }, [Symbol.toPrimitive]() { ${FOREVER} }`;
    await eachVariant(
      hostile,
      {
        object: `export default () => { throw { ${conversions} } }`,
        functionValue: `export default () => { const f = () => 1; f.toString = () => { ${FOREVER} }; throw f }`,
        symbol: `export default () => { throw Symbol('thrown') }`,
        messageObject: `export default () => { throw { message: { ${conversions} } } }`,
        nameObject: `export default () => { const e = new Error('x'); e.name = { ${conversions} }; throw e }`,
        nullPrototype: 'export default () => { throw Object.create(null) }',
      },
      failsWith('error'),
    );
    await eachVariant(
      hostile,
      { toJSON: `export default () => { throw { toJSON() { ${FOREVER} } } }` },
      failsWith('timeout'),
    );
  });

  it('survives promises rejected with such values and left unhandled', async () => {
    // Nothing awaits them, so the step's own result stands.
    const results = [];
    for (const code of [
      `export default () => { Promise.reject(${TRAPS_NEVER_RETURN}); return 1 }`,
      `export default async () => { await null; Promise.reject({ get message() { ${FOREVER} } }); return 1 }`,
      `Promise.reject(${TRAPS_NEVER_RETURN});\nexport default () => 1`,
      `Error.prepareStackTrace = () => { ${FOREVER} };\nPromise.reject(new Error('x'));\nexport default () => 1`,
      `export default () => { new Promise((_, reject) => reject(${TRAPS_NEVER_RETURN})); return 1 }`,
    ]) {
      results.push(await runThenRecover(hostile, code));
    }
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ ok: true, outputJson: '1' })));
    // A rejection the step returns is its failure, read under the cap.
    await eachVariant(
      hostile,
      { returned: `export default () => Promise.reject(${TRAPS_NEVER_RETURN})` },
      failsWith('timeout'),
    );
  });

  it('describes ordinary thrown values in words, cut at 2000 characters once redacted', async () => {
    const described = async (code: string) => {
      const result = await runThenRecover(hostile, code);
      return result.ok ? null : result.message;
    };
    expect(await described("export default () => { throw { code: 'E1' } }")).toBe(
      'code threw {"code":"E1"}',
    );
    expect(await described('export default () => { throw 42 }')).toBe('code threw 42');
    expect(await described('export default () => { throw null }')).toBe('code threw null');
    expect(await described('export default () => { throw 10n }')).toBe('code threw 10');
    expect(await described("export default () => { throw Symbol('s') }")).toBe(
      'code threw Symbol(s)',
    );
    expect(await described('export default () => { throw () => 1 }')).toBe('code threw a function');
    // The isolate hands over enough to redact a secret quoted across the 2,000th character;
    // the step cuts the description after redacting it.
    const long = await described("export default () => { throw new RangeError('r'.repeat(5000)) }");
    expect(long).toBe(`RangeError: ${'r'.repeat(5000)}`);
    expect(describedFailure(long ?? '', (text) => text)).toBe(
      `RangeError: ${'r'.repeat(1999 - 'RangeError: '.length)}…`,
    );
    const huge = await described(
      `export default () => { throw new Error('e'.repeat(${CARRIED_DESCRIPTION_LENGTH + 10})) }`,
    );
    expect(huge?.length).toBe(CARRIED_DESCRIPTION_LENGTH + 1);
  });
});
