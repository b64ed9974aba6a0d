import { describe, expect, it } from 'vitest';
import { MAX_INTL_OBJECTS } from '../../runtime/engine/code-step-allocation-limits';
import { STEP_INPUT_GLOBAL } from '../../runtime/engine/code-step-harness';
import { CAP_MS, expectBenignStep, FOREVER, useHostileSandbox } from './code-sandbox-cases';

/**
 * For the steps that must succeed: making the isolate and the run's context counts against a
 * step's cap, and on a loaded box that alone can take longer than CAP_MS.
 */
const bounds = { timeoutMs: 2000, maxOutputLength: 100_000 };

/**
 * The steps of one run share its context, so a step can change every global and prototype the
 * next step of the run sees. The harness must keep working whatever was changed: the next step
 * comes back with its own output (never one an earlier step made up), within its cap.
 */
describe("a code step that changes what the run's next step finds in the shared context", () => {
  const hostile = useHostileSandbox();

  async function changeThenBenign(variants: Record<string, string>): Promise<void> {
    for (const [name, change] of Object.entries(variants)) {
      const run = hostile.sandbox.openRun();
      try {
        const changed = await run.run(`export default () => { ${change}; return 1 }`, '{}', bounds);
        expect(changed, name).toEqual({ ok: true, outputJson: '1' });
        // Twice: the first benign step must not repair what the second relies on.
        for (let i = 0; i < 2; i++) {
          await expectBenignStep(
            (code, input, stepBounds) => run.run(code, input, stepBounds),
            bounds,
            `after ${name}`,
          );
        }
      } finally {
        run.end();
      }
    }
    expect(hostile.sandbox.isolatesCreated).toBe(1);
  }

  it('cannot fake the next outcome by replacing JSON, Promise or the carrier built-ins', async () => {
    await changeThenBenign({
      jsonObject: `globalThis.JSON = { stringify: () => '{"doubled":1}', parse: () => ({ n: 1 }) }`,
      jsonMethods: `JSON.stringify = () => '{"doubled":1}'; JSON.parse = () => ({ n: 1 })`,
      promiseObject: `globalThis.Promise = function () { ${FOREVER} }`,
      promiseStatics: `Promise.reject = () => { ${FOREVER} }; Promise.resolve = () => { ${FOREVER} }`,
      promiseThen: `Promise.prototype.then = function () { ${FOREVER} }`,
      promiseConstructor: `Object.defineProperty(Promise.prototype, 'constructor', { get() { ${FOREVER} } })`,
      objectStatics: `Object.create = () => ({}); Object.defineProperty = () => { ${FOREVER} }; Object.getPrototypeOf = () => null`,
      reflect: `Reflect.apply = () => 'Jfake'; Reflect.construct = () => { ${FOREVER} }`,
      functionPrototype: `Function.prototype.call = Function.prototype.apply = Function.prototype.bind = () => { ${FOREVER} }`,
      stringPrototype: `String.prototype.slice = () => 'Jfake'; String.prototype.toString = () => 'Jfake'`,
      errors: `globalThis.Error = globalThis.RangeError = globalThis.TypeError = function () { ${FOREVER} }; Error.prepareStackTrace = () => { ${FOREVER} }`,
    });
  });

  it('cannot run its own code in the next step through prototypes the harness touches', async () => {
    await changeThenBenign({
      arrayIterator: `Array.prototype[Symbol.iterator] = function* () { ${FOREVER} }`,
      arrayIndexSetters: `for (const i of [0, 1, 2]) Object.defineProperty(Array.prototype, i, { get() { ${FOREVER} }, set() { ${FOREVER} } })`,
      objectSetters: `for (const key of ['name', 'message', 'stack', 'carrier', 'rejection', 'default']) Object.defineProperty(Object.prototype, key, { get() { ${FOREVER} }, set() { ${FOREVER} } })`,
      frozenWorld:
        'Object.freeze(Object.prototype); Object.freeze(Array.prototype); Object.freeze(Function.prototype); Object.freeze(Promise.prototype); Object.freeze(globalThis)',
      globalPrototypeProxy: `Object.setPrototypeOf(globalThis, new Proxy({}, { get() { ${FOREVER} }, has() { ${FOREVER} }, set() { ${FOREVER} } }))`,
    });
  });

  it('cannot trap the way the next step gets its input', async () => {
    await changeThenBenign({
      inputAccessor: `Object.defineProperty(globalThis, '${STEP_INPUT_GLOBAL}', { get() { ${FOREVER} }, set() { ${FOREVER} }, configurable: false })`,
      inputFrozen: `Object.defineProperty(globalThis, '${STEP_INPUT_GLOBAL}', { value: ['{"n":1}', 100000], writable: false, configurable: false })`,
      extensionsPrevented: 'Object.preventExtensions(globalThis)',
    });
  });

  it('leaves nothing that settles the next step: a held resolver is spent, a pending one ends the context', async () => {
    const run = hostile.sandbox.openRun();
    try {
      const resolved = await run.run(
        'export default () => ({ then(resolve) { globalThis.again = resolve; resolve({ first: true }) } })',
        '{}',
        bounds,
      );
      expect(resolved).toEqual({ ok: true, outputJson: '{"first":true}' });
      const reused = await run.run(
        'export default () => { globalThis.again({ doubled: 1 }); return { mine: true } }',
        '{}',
        bounds,
      );
      expect(reused).toEqual({ ok: true, outputJson: '{"mine":true}' });
      const pending = await run.run(
        'export default () => new Promise((resolve) => { globalThis.later = resolve })',
        '{}',
        { ...bounds, timeoutMs: CAP_MS },
      );
      expect(pending).toMatchObject({ ok: false, reason: 'timeout' });
      const after = await run.run(
        'export default () => [typeof globalThis.later, typeof globalThis.again]',
        '{}',
        bounds,
      );
      expect(after).toEqual({ ok: true, outputJson: '["undefined","undefined"]' });
    } finally {
      run.end();
    }
    expect(hostile.sandbox.isolatesCreated).toBe(2);
  });

  it("gives the run's next step a new context after one that made Intl objects, with its own allowance", async () => {
    const makeAll = `export default () => { const k = []; for (let i = 0; i < ${MAX_INTL_OBJECTS}; i++) k.push(new Intl.NumberFormat('en')); globalThis.kept = k; return k.length }`;
    const run = hostile.sandbox.openRun();
    const contextsBefore = hostile.sandbox.contextsCreated;
    try {
      for (let i = 0; i < 2; i++) {
        expect(await run.run(makeAll, '{}', { ...bounds, timeoutMs: 10_000 })).toEqual({
          ok: true,
          outputJson: String(MAX_INTL_OBJECTS),
        });
      }
      expect(await run.run('export default () => typeof globalThis.kept', '{}', bounds)).toEqual({
        ok: true,
        outputJson: '"undefined"',
      });
    } finally {
      run.end();
    }
    expect(hostile.sandbox.contextsCreated - contextsBefore).toBe(3);
  });
});
