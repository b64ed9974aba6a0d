import { describe, expect, it } from 'vitest';
import { REMOVED_GLOBALS } from '../../runtime/engine/code-step-harness';
import { eachVariant, failsWith, runThenRecover, useHostileSandbox } from './code-sandbox-cases';

/** Every global a code step has, on Node 24 (V8 13.6). A V8 that adds one fails this test, so
 * that each new global is looked at (and the README's list updated) before it ships. Node 24
 * added Iterator (iterator helpers), Float16Array, and DisposableStack, AsyncDisposableStack
 * and SuppressedError (explicit resource management): plain ECMAScript, with no host access,
 * no memory outside the isolate's allocator and nothing that runs outside the step's own call,
 * so they stay. */
const CODE_STEP_GLOBALS = [
  'AggregateError',
  'Array',
  'ArrayBuffer',
  'AsyncDisposableStack',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'Boolean',
  'DataView',
  'Date',
  'DisposableStack',
  'Error',
  'EvalError',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'Function',
  'Infinity',
  'Int16Array',
  'Int32Array',
  'Int8Array',
  'Intl',
  'Iterator',
  'JSON',
  'Map',
  'Math',
  'NaN',
  'Number',
  'Object',
  'Promise',
  'Proxy',
  'RangeError',
  'ReferenceError',
  'Reflect',
  'RegExp',
  'Set',
  'String',
  'SuppressedError',
  'Symbol',
  'SyntaxError',
  'TypeError',
  'URIError',
  'Uint16Array',
  'Uint32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'WeakMap',
  'WeakSet',
  'console',
  'decodeURI',
  'decodeURIComponent',
  'encodeURI',
  'encodeURIComponent',
  'escape',
  'eval',
  'globalThis',
  'isFinite',
  'isNaN',
  'parseFloat',
  'parseInt',
  'undefined',
  'unescape',
];

const okJson = (result: Awaited<ReturnType<typeof runThenRecover>>) => {
  if (!result.ok) throw new Error(`step failed: ${result.message}`);
  return JSON.parse(result.outputJson) as unknown;
};

/** A step that looks for each removed global in every way code can name a global. */
const LOOK_UP_BY_NAME = `export default async () => {
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;
  const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;
  const found = [];
  for (const name of ${JSON.stringify(REMOVED_GLOBALS)}) {
    const typeOf = 'return typeof ' + name;
    found.push([
      typeof globalThis[name],
      eval('typeof ' + name),
      (0, eval)('typeof ' + name),
      Function(typeOf)(),
      await AsyncFunction(typeOf)(),
      GeneratorFunction(typeOf)().next().value,
      (await AsyncGeneratorFunction(typeOf)().next()).value,
      name in globalThis,
      Object.getOwnPropertyDescriptor(globalThis, name) !== undefined,
      Reflect.ownKeys(globalThis).includes(name),
    ]);
  }
  return found;
}`;

/**
 * A step that walks every object it can reach from the global object and from instances of
 * the built-ins (own properties, accessors, prototypes) and names the paths to any removed
 * constructor or namespace.
 */
const WALK_THE_OBJECT_GRAPH = `export default () => {
  const removed = new Set(${JSON.stringify(REMOVED_GLOBALS)});
  const roots = {
    globalThis,
    buffer: new Uint8Array(8).buffer,
    dataView: new DataView(new ArrayBuffer(8)),
    asyncFunction: async function () {},
    generator: function* () {},
    asyncGenerator: async function* () {},
    promise: Promise.resolve(),
    error: new Error('x'),
    iterators: [[][Symbol.iterator](), new Map().entries(), new Set().values(), 'x'.matchAll(/x/g)],
    intl: [new Intl.NumberFormat(), new Intl.Segmenter().segment('a b')],
  };
  const seen = new Set();
  const found = [];
  const queue = Object.entries(roots);
  while (queue.length > 0) {
    const [path, value] = queue.shift();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) continue;
    if (seen.has(value)) continue;
    seen.add(value);
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    const name = typeof value === 'function' ? Object.getOwnPropertyDescriptor(value, 'name')?.value : undefined;
    if (removed.has(tag) || removed.has(name)) found.push(path);
    queue.push([path + '.[[Prototype]]', Object.getPrototypeOf(value)]);
    for (const key of Reflect.ownKeys(value)) {
      const property = Object.getOwnPropertyDescriptor(value, key);
      const label = path + '.' + String(key);
      queue.push([label, property.value], [label + '<get>', property.get], [label + '<set>', property.set]);
    }
  }
  return { reached: seen.size, found };
}`;

describe('the globals of a code step', () => {
  const hostile = useHostileSandbox();

  it('are exactly the listed ones', async () => {
    const names = okJson(
      await runThenRecover(
        hostile,
        'export default () => [...Object.getOwnPropertyNames(globalThis), ...Object.getOwnPropertySymbols(globalThis).map(String)].sort()',
      ),
    );
    expect(names).toEqual(CODE_STEP_GLOBALS);
    for (const name of REMOVED_GLOBALS) expect(CODE_STEP_GLOBALS).not.toContain(name);
  });

  it('include none of the removed ones by any name code can use', async () => {
    const lookups = okJson(await runThenRecover(hostile, LOOK_UP_BY_NAME));
    expect(lookups).toEqual(
      REMOVED_GLOBALS.map(() => [
        ...Array.from({ length: 7 }, () => 'undefined'),
        ...Array.from({ length: 3 }, () => false),
      ]),
    );
  });

  it('leave none of the removed ones reachable through prototypes, constructors or accessors', async () => {
    const walk = okJson(await runThenRecover(hostile, WALK_THE_OBJECT_GRAPH, 5000)) as {
      reached: number;
      found: string[];
    };
    expect(walk.found).toEqual([]);
    expect(walk.reached).toBeGreaterThan(500);
  });

  it('are the same in a step after one that changed or deleted globals', async () => {
    await runThenRecover(
      hostile,
      'export default () => { delete globalThis.JSON; globalThis.WebAssembly = 1; Object.prototype.x = 1; return 1 }',
    );
    expect(
      okJson(
        await runThenRecover(
          hostile,
          'export default () => [typeof JSON, typeof WebAssembly, ({}).x === undefined]',
        ),
      ),
    ).toEqual(['object', 'undefined', true]);
  });
});

// Before the fix, Atomics.waitAsync with a timeout ended the process ("terminate called without
// an active exception"): isolated-vm's task runner cannot take a delayed task.
describe('a code step that uses Atomics or SharedArrayBuffer', () => {
  const hostile = useHostileSandbox();

  it('survives Atomics.wait and Atomics.waitAsync, with or without a timeout', async () => {
    const shared = 'new Int32Array(new SharedArrayBuffer(16))';
    await eachVariant(
      hostile,
      {
        wait: `export default () => Atomics.wait(${shared}, 0, 0, 50)`,
        waitAsyncWithTimeout: `export default () => Atomics.waitAsync(${shared}, 0, 0, 10).value`,
        waitAsyncWithoutTimeout: `export default () => Atomics.waitAsync(${shared}, 0, 0).value`,
        waitAsyncUnshared: 'export default () => Atomics.waitAsync(new Int32Array(4), 0, 0, 10)',
        afterAwait: `export default async () => { await null; return Atomics.waitAsync(${shared}, 0, 0, 10).value }`,
      },
      failsWith('error', 'ReferenceError: Atomics is not defined'),
    );
  });

  it('cannot make a SharedArrayBuffer, growable or not', async () => {
    await eachVariant(
      hostile,
      {
        plain: 'export default () => new SharedArrayBuffer(8).byteLength',
        growable:
          'export default () => new SharedArrayBuffer(8, { maxByteLength: 2 ** 30 }).grow(2 ** 30)',
      },
      failsWith('error', 'ReferenceError: SharedArrayBuffer is not defined'),
    );
  });
});

// Before the fix, WebAssembly memory was not counted against SLUICE_CODE_MEMORY_MB: it is
// allocated outside the allocator that enforces the cap.
describe('a code step that uses WebAssembly', () => {
  const hostile = useHostileSandbox();

  it('cannot make memories, modules or instances', async () => {
    const bytes = 'new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])';
    await eachVariant(
      hostile,
      {
        memory:
          'export default () => { const k = []; for (let i = 0; i < 4; i++) k.push(new WebAssembly.Memory({ initial: 4096 })); return k.length }',
        sharedMemory:
          'export default () => new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer.byteLength',
        module: `export default () => new WebAssembly.Module(${bytes}) && 1`,
        instance: `export default () => new WebAssembly.Instance(new WebAssembly.Module(${bytes})) && 1`,
        compile: `export default async () => (await WebAssembly.compile(${bytes})) && 1`,
        instantiate: `export default async () => (await WebAssembly.instantiate(${bytes})) && 1`,
        validate: `export default () => WebAssembly.validate(${bytes})`,
      },
      failsWith('error', 'ReferenceError: WebAssembly is not defined'),
    );
  });
});
