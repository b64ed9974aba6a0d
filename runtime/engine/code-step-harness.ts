/**
 * The modules that run around code steps inside a run's context (code-sandbox.ts makes one
 * context per run and shares it between the run's steps). GUARD runs once per context; each
 * step then evaluates its own ENTRY, which imports START, then the step's own module, then
 * hands the step's namespace to GUARD. The context's first step evaluates FIRST_ENTRY instead,
 * which imports GUARD itself before the step's module: GUARD's body ends by doing START's
 * work, so that step compiles and links one module fewer.
 *
 *   1. GUARD runs before any code of the run, as part of the context's first step. It takes the
 *      first step's input from a global the sandbox set, deletes that global and
 *      REMOVED_GLOBALS, limits what allocates outside the memory cap
 *      (code-step-allocation-limits.ts), and keeps its own copies of every built-in it uses
 *      later. Code of the run's steps may replace any global or prototype; nothing GUARD does
 *      once a step's code has run reads them. Later steps' inputs reach it through `prepare`,
 *      which the sandbox calls through a reference: never through a global, whose setter a
 *      step could have defined (and which would then run outside any time cap).
 *   2. START runs first in each later step's evaluation (as GUARD's last line in the first
 *      step's), before anything a step's code could have
 *      hooked: it makes that step's carrier, one promise rejected with no handler. When a task
 *      on the isolate ends, isolated-vm reads the first such rejection of that task (its
 *      `message`, `stack` and `name`) and rejects the host's call with a copy. With the carrier
 *      first, the host only ever gets that copy: a plain object of GUARD's whose properties are
 *      strings. Any value of the step's own (a rejection it leaves unhandled, an error its
 *      top-level code throws) would otherwise be read there, after the time cap stopped
 *      counting; a Proxy whose traps never return then holds the isolate's thread for good.
 *   3. The step's top-level code runs. If it throws, or never finishes, ENTRY's body never runs.
 *   4. ENTRY calls `loaded`, which calls the default export and settles the outcome in that
 *      step's own carrier. Everything the step does (its promises, getters, toJSON, thenables)
 *      runs in the same call, under the time cap: a context has no timers or I/O, so nothing can
 *      run later, and an outcome that is not settled by then disposes the isolate.
 *
 * The carrier's message is the outcome: a one-letter code, then its text (see decodeOutcome),
 * after RETIRE_MARK when the step made Intl objects (the count is per context: a context whose
 * steps made some is not given to the run's next step).
 */

import { MAX_SECRET_VALUE_BYTES } from '../secrets/secret-names';
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
export const MAX_DESCRIPTION_LENGTH = 2000;

/**
 * The longest text a secret's value can become in a record (secretForms: escaped three times,
 * or percent-encoded), in UTF-16 units: nine per unit of a value of MAX_SECRET_VALUE_BYTES.
 */
export const MAX_SECRET_FORM_LENGTH = 9 * MAX_SECRET_VALUE_BYTES;

/**
 * How much of a failure's description leaves the isolate. The host cuts it to
 * MAX_DESCRIPTION_LENGTH only after redacting it: cut here first, a secret quoted across the
 * cut would come out half, which no redaction finds. Past this length the host also drops the
 * last MAX_SECRET_FORM_LENGTH units, where the cut may have left part of a value.
 */
export const CARRIED_DESCRIPTION_LENGTH = MAX_DESCRIPTION_LENGTH + MAX_SECRET_FORM_LENGTH;

/** Put before the outcome when the step made Intl objects: its context is not reused. */
export const RETIRE_MARK = '~';

export const GUARD_SPECIFIER = 'sluice:guard';
export const START_SPECIFIER = 'sluice:start';
export const CODE_SPECIFIER = 'sluice:code';

/** What GUARD exports for the sandbox to call: `prepare(inputJson, maxOutputLength)`. */
export const PREPARE_EXPORT = 'prepare';

export const START_SOURCE = `import { start } from '${GUARD_SPECIFIER}';
start();
`;

export const ENTRY_SOURCE = `import '${START_SPECIFIER}';
import * as namespace from '${CODE_SPECIFIER}';
import { loaded } from '${GUARD_SPECIFIER}';
loaded(namespace);
`;

/** A module's imports are evaluated in the order written: GUARD (ending in start()) first. */
export const FIRST_ENTRY_SOURCE = `import { loaded } from '${GUARD_SPECIFIER}';
import * as namespace from '${CODE_SPECIFIER}';
loaded(namespace);
`;

// Outcome codes: T top-level code threw or never finished, P the default export's result never
// settled, X the globals could not be removed, J JSON output, L output length over the cap,
// U output not JSON, M memory refused, E the step threw (described).
//
// Everything below the first block runs once per context, before any step's code. The functions
// it defines run later, after steps' code may have replaced globals and prototypes: they use
// only the copies taken here, module bindings, and objects they made with no prototype, and
// they neither destructure nor spread arrays (which reads Array.prototype's iterator).
export const GUARD_SOURCE = `const global = globalThis;
const first = global.${STEP_INPUT_GLOBAL};
delete global.${STEP_INPUT_GLOBAL};
const removed = ${JSON.stringify(REMOVED_GLOBALS)};
for (const name of removed) delete global[name];
if (removed.some((name) => name in global)) {
  const refused = Object.create(null);
  refused.name = '${OUTCOME_NAME}';
  refused.message = 'X';
  throw refused;
}
${ALLOCATION_LIMITS_SOURCE}const { parse, stringify } = JSON;
const { slice } = String.prototype;
const { create } = Object;
const rejected = Promise.reject.bind(Promise);
const RangeErrorPrototype = RangeError.prototype;
const toText = String;
// The next step's input, until START takes it.
let pendingJson = first[0];
let pendingMax = first[1];
export function prepare(json, max) {
  pendingJson = json;
  pendingMax = max;
}
// The running step's carrier and input. The carrier stays referenced here until the next step
// starts: isolated-vm holds unhandled rejections weakly. Nothing may ever add a handler to it.
let carrying = null;
let stepJson;
let stepMax = 0;
export function start() {
  stepJson = pendingJson;
  stepMax = pendingMax;
  pendingJson = undefined;
  const carrier = create(null);
  carrier.name = '${OUTCOME_NAME}';
  carrier.message = 'T';
  carrier.stack = undefined;
  const held = create(null);
  held.carrier = carrier;
  held.rejection = rejected(carrier);
  carrying = held;
}
// Only a primitive string may reach the carrier: isolated-vm converts whatever it finds there.
const settle = (carrier, text) => {
  const outcome =
    typeof text === 'string' ? text : 'Ecode threw a value that could not be described';
  carrier.message = intlObjects > 0 ? '${RETIRE_MARK}' + outcome : outcome;
};
const clip = (text) =>
  text.length > ${CARRIED_DESCRIPTION_LENGTH}
    ? apply(slice, text, [0, ${CARRIED_DESCRIPTION_LENGTH}]) + '…'
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
const finish = async (carrier, result, max) => {
  let value;
  try {
    value = await result;
  } catch (thrown) {
    return settle(carrier, failure(thrown));
  }
  let json;
  try {
    json = value === undefined ? 'null' : stringify(value);
  } catch (thrown) {
    return settle(carrier, refusedMemory(thrown) ? 'M' : 'U' + describe(thrown));
  }
  if (json === undefined) return settle(carrier, 'U' + 'a ' + typeof value + ' is not JSON');
  if (json.length > max) return settle(carrier, 'L' + json.length);
  return settle(carrier, 'J' + json);
};
// Each step settles only its own carrier, so that nothing left over from a step can settle the next's.
export function loaded(namespace) {
  const carrier = carrying.carrier;
  const json = stepJson;
  stepJson = undefined;
  carrier.message = 'P';
  let result;
  try {
    const main = namespace.default;
    if (typeof main !== 'function') {
      return settle(carrier, 'ETypeError: the code must export a default function');
    }
    result = main(parse(json));
  } catch (thrown) {
    return settle(carrier, failure(thrown));
  }
  finish(carrier, result, stepMax);
}
// START's work for the context's first step, whose FIRST_ENTRY has no START.
start();
`;
