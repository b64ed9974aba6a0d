/**
 * The modules that run around a code step inside its context. The sandbox evaluates ENTRY,
 * which imports GUARD, then the step's own module, then hands the step's namespace to GUARD:
 *
 *   1. GUARD runs before any code of the step. It takes the step's input from a global the
 *      sandbox set, deletes that global and REMOVED_GLOBALS, limits what allocates outside the
 *      memory cap (code-step-allocation-limits.ts), and keeps its own copies of the built-ins
 *      it uses later, so the step cannot swap them.
 *   2. It leaves one promise rejected with no handler: the carrier. When a task on the isolate
 *      ends, isolated-vm reads the first such rejection of that task (its `message`, `stack`
 *      and `name`) and rejects the host's call with a copy. With the carrier first, the host
 *      only ever gets that copy: a plain object of GUARD's whose properties are strings. Any
 *      value of the step's own (a rejection it leaves unhandled, an error its top-level code
 *      throws) would otherwise be read there, after the time cap stopped counting; a Proxy
 *      whose traps never return then holds the isolate's thread for good.
 *   3. The step's top-level code runs. If it throws, or never finishes, ENTRY's body never runs.
 *   4. ENTRY calls `loaded`, which calls the default export and settles the outcome. Everything
 *      the step does (its promises, getters, toJSON, thenables) runs in the same call, under
 *      the time cap: a context has no timers or I/O, so nothing can run later.
 *
 * The carrier's message is the outcome: a one-letter code, then its text (see decodeOutcome).
 */

import { ALLOCATION_LIMITS_SOURCE } from './code-step-allocation-limits';

/** Globals deleted before a step runs: each runs code, or holds memory, outside the caps. */
export const REMOVED_GLOBALS = [
  'WebAssembly',
  'SharedArrayBuffer',
  'Atomics',
  'FinalizationRegistry',
  'WeakRef',
] as const;

/** The global through which the sandbox hands GUARD `[inputJson, maxOutputLength]`. */
export const STEP_INPUT_GLOBAL = '__sluiceStep';

/** `name` of the carrier, as isolated-vm's copy of it reaches the host. */
export const OUTCOME_NAME = 'SluiceStepOutcome';

/** Longest error text a step's failure is described with, in UTF-16 units. */
const MAX_DESCRIPTION_LENGTH = 2000;

export const GUARD_SPECIFIER = 'sluice:guard';
export const CODE_SPECIFIER = 'sluice:code';

export const ENTRY_SOURCE = `import { loaded } from '${GUARD_SPECIFIER}';
import * as namespace from '${CODE_SPECIFIER}';
loaded(namespace);
`;

// Outcome codes: T top-level code threw or never finished, P the default export's result never
// settled, X the globals could not be removed, J JSON output, L output length over the cap,
// U output not JSON, M memory refused, E the step threw (described).
export const GUARD_SOURCE = `const global = globalThis;
const step = global.${STEP_INPUT_GLOBAL};
delete global.${STEP_INPUT_GLOBAL};
const carrier = Object.create(null);
carrier.name = '${OUTCOME_NAME}';
carrier.message = 'T';
carrier.stack = undefined;
// Held by settle's closure for as long as the module lives: isolated-vm holds unhandled
// rejections weakly. Nothing may ever add a handler to it.
const carrying = { carrier, rejection: Promise.reject(carrier) };
const removed = ${JSON.stringify(REMOVED_GLOBALS)};
for (const name of removed) delete global[name];
if (removed.some((name) => name in global)) {
  carrier.message = 'X';
  throw carrier;
}
${ALLOCATION_LIMITS_SOURCE}const { parse, stringify } = JSON;
const { slice } = String.prototype;
const RangeErrorPrototype = RangeError.prototype;
const toText = String;
// Only a primitive string may reach the carrier: isolated-vm converts whatever it finds there.
const settle = (text) => {
  carrying.carrier.message =
    typeof text === 'string' ? text : 'Ecode threw a value that could not be described';
};
const clip = (text) =>
  text.length > ${MAX_DESCRIPTION_LENGTH}
    ? apply(slice, text, [0, ${MAX_DESCRIPTION_LENGTH - 1}]) + '…'
    : text;
const describe = (thrown) => {
  try {
    if (typeof thrown === 'string') return clip('code threw ' + thrown);
    if (thrown === null || (typeof thrown !== 'object' && typeof thrown !== 'function')) {
      return clip('code threw ' + toText(thrown));
    }
    const message = thrown.message;
    if (typeof message === 'string') {
      const name = thrown.name;
      const prefix = typeof name === 'string' && name !== '' && name !== 'Error' ? name + ': ' : '';
      return clip(prefix + message);
    }
    const json = stringify(thrown);
    return clip('code threw ' + (typeof json === 'string' ? json : 'a ' + typeof thrown));
  } catch {
    return 'code threw a value that could not be described';
  }
};
const refusedMemory = (thrown) => {
  try {
    return (
      typeof thrown === 'object' &&
      thrown !== null &&
      getPrototypeOf(thrown) === RangeErrorPrototype &&
      thrown.message === 'Array buffer allocation failed'
    );
  } catch {
    return false;
  }
};
const failure = (thrown) => (refusedMemory(thrown) ? 'M' : 'E' + describe(thrown));
const finish = async (result) => {
  let value;
  try {
    value = await result;
  } catch (thrown) {
    return settle(failure(thrown));
  }
  let json;
  try {
    json = value === undefined ? 'null' : stringify(value);
  } catch (thrown) {
    return settle(refusedMemory(thrown) ? 'M' : 'U' + describe(thrown));
  }
  if (json === undefined) return settle('U' + 'a ' + typeof value + ' is not JSON');
  if (json.length > step[1]) return settle('L' + json.length);
  return settle('J' + json);
};
export function loaded(namespace) {
  carrier.message = 'P';
  let result;
  try {
    const main = namespace.default;
    if (typeof main !== 'function') {
      return settle('ETypeError: the code must export a default function');
    }
    result = main(parse(step[0]));
  } catch (thrown) {
    return settle(failure(thrown));
  }
  finish(result);
}
`;
