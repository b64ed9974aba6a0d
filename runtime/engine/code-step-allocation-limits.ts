/**
 * Statements the guard (code-step-harness.ts) runs before a step's code, for what takes memory
 * outside the allocator through which isolated-vm enforces the memory cap. Such memory is not
 * counted, and once freed it stays with the C library's per-thread arenas rather than going back
 * to the system: a few steps can take a worker to gigabytes.
 *
 * - A resizable ArrayBuffer (`new ArrayBuffer(n, { maxByteLength })`) is allocated by V8 itself:
 *   the constructor, wherever code finds it, makes fixed-length buffers only.
 * - Intl's objects hold ICU objects (a DateTimeFormat about 10 KB of them): a step may make at
 *   most MAX_INTL_OBJECTS, counted from the first time it reads `Intl`, so that steps that do
 *   not use Intl pay nothing for the count. `Intl.Segmenter`'s `segment` copies its whole text
 *   into ICU, so a step may segment at most MAX_SEGMENTED_UNITS of text in all; V8's
 *   non-standard `Intl.v8BreakIterator`, whose `adoptText` does the same uncounted, is removed.
 *
 * - `Symbol.for`'s registry belongs to the isolate, not the context, and V8 never collects it:
 *   keys a run registered stayed in the heap after its context was released, under the memory
 *   cap that later runs (another project's too) then hit. Each context gets a registry of its
 *   own, two Maps in its heap that go with it. (A symbol it returns can be a WeakMap key, which
 *   a registered one cannot; nothing else tells them apart within the one context a run has.)
 *
 * They run in the step's context, so they keep their own copies of the built-ins they use.
 */

/** The Intl objects (formatters, collators, segments and their iterators) one step may make. */
export const MAX_INTL_OBJECTS = 1000;

/** UTF-16 units of text one step may hand `Intl.Segmenter` (8 Mi: 16 MB copied into ICU). */
export const MAX_SEGMENTED_UNITS = 2 ** 23;

export const ALLOCATION_LIMITS_SOURCE = `const { construct, apply, ownKeys } = Reflect;
const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf } = Object;
const NativeArrayBuffer = ArrayBuffer;
const FixedArrayBuffer = function ArrayBuffer(length) {
  if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
  return construct(NativeArrayBuffer, [length === undefined ? 0 : +length], new.target);
};
defineProperty(FixedArrayBuffer, 'prototype', { value: NativeArrayBuffer.prototype, writable: false });
defineProperty(FixedArrayBuffer, Symbol.species, getOwnPropertyDescriptor(NativeArrayBuffer, Symbol.species));
FixedArrayBuffer.isView = NativeArrayBuffer.isView;
NativeArrayBuffer.prototype.constructor = FixedArrayBuffer;
global.ArrayBuffer = FixedArrayBuffer;

// The count is installed while the step runs, after its code may have changed Array.prototype
// or Object.prototype: no iteration protocol, and descriptors without a prototype.
const NativeIntl = Intl;
let intlObjects = 0;
const countIntlObject = () => {
  intlObjects += 1;
  if (intlObjects > ${MAX_INTL_OBJECTS}) {
    throw new RangeError('a code step may make at most ${MAX_INTL_OBJECTS} Intl objects');
  }
};
const redefine = (owner, key, value) => {
  const { writable, enumerable, configurable } = getOwnPropertyDescriptor(owner, key);
  defineProperty(owner, key, { __proto__: null, value, writable, enumerable, configurable });
};
const countCalls = (owner, key) => {
  const native = getOwnPropertyDescriptor(owner, key).value;
  const counted = {
    [native.name](...args) {
      countIntlObject();
      return apply(native, this, args);
    },
  }[native.name];
  redefine(owner, key, counted);
};
const countConstructor = (name) => {
  const Native = NativeIntl[name];
  const Counted = function (...args) {
    countIntlObject();
    return new.target === undefined ? apply(Native, this, args) : construct(Native, args, new.target);
  };
  const keys = ownKeys(Native);
  for (let i = 0; i < keys.length; i++) {
    const { value, writable, enumerable, configurable } = getOwnPropertyDescriptor(Native, keys[i]);
    defineProperty(Counted, keys[i], { __proto__: null, value, writable, enumerable, configurable });
  }
  redefine(Native.prototype, 'constructor', Counted);
  redefine(NativeIntl, name, Counted);
};
let segmentedUnits = 0;
const countSegmentedText = (owner) => {
  const native = getOwnPropertyDescriptor(owner, 'segment').value;
  const counted = {
    segment(input) {
      const text = \`\${input}\`;
      segmentedUnits += text.length;
      if (segmentedUnits > ${MAX_SEGMENTED_UNITS}) {
        throw new RangeError('a code step may segment at most ${MAX_SEGMENTED_UNITS} characters of text');
      }
      countIntlObject();
      return apply(native, this, [text]);
    },
  }.segment;
  redefine(owner, 'segment', counted);
};
const NativeSymbol = Symbol;
const NativeTypeError = TypeError;
const NativeString = String;
const { get: mapGet, set: mapSet } = Map.prototype;
const symbolsByKey = new Map();
const keysBySymbol = new Map();
const contextRegistry = {
  for(key) {
    const name = \`\${key}\`;
    let symbol = apply(mapGet, symbolsByKey, [name]);
    if (symbol === undefined) {
      symbol = NativeSymbol(name);
      apply(mapSet, symbolsByKey, [name, symbol]);
      apply(mapSet, keysBySymbol, [symbol, name]);
    }
    return symbol;
  },
  keyFor(symbol) {
    if (typeof symbol !== 'symbol') throw new NativeTypeError(NativeString(symbol) + ' is not a symbol');
    return apply(mapGet, keysBySymbol, [symbol]);
  },
};
redefine(NativeSymbol, 'for', contextRegistry.for);
redefine(NativeSymbol, 'keyFor', contextRegistry.keyFor);

let countedIntl;
const countIntl = () => {
  if (countedIntl !== undefined) return countedIntl;
  delete NativeIntl.v8BreakIterator;
  const { Segmenter } = NativeIntl;
  const segments = apply(Segmenter.prototype.segment, construct(Segmenter, []), ['']);
  countSegmentedText(Segmenter.prototype);
  countCalls(getPrototypeOf(segments), Symbol.iterator);
  const names = ownKeys(NativeIntl);
  for (let i = 0; i < names.length; i++) {
    const value = NativeIntl[names[i]];
    if (typeof value === 'function' && typeof value.prototype === 'object') {
      countConstructor(names[i]);
    }
  }
  countedIntl = NativeIntl;
  return countedIntl;
};
const setIntl = (value) =>
  defineProperty(global, 'Intl', {
    __proto__: null,
    value,
    writable: true,
    enumerable: false,
    configurable: true,
  });
defineProperty(global, 'Intl', {
  __proto__: null,
  enumerable: false,
  configurable: true,
  get() {
    const value = countIntl();
    setIntl(value);
    return value;
  },
  set: setIntl,
});
`;
