import ivm from 'isolated-vm';

/**
 * Runs code steps (`export default (ctx) => value`, sync or async) in isolated-vm. One isolate
 * is reused across runs and every step gets a fresh context, so steps cannot see each other's
 * globals. The isolate is recreated when it was disposed (a memory-limit kill or an abort).
 *
 * Values cross the boundary as JSON strings: the input is parsed inside the context and the
 * output is stringified there, which both proves it is JSON-serialisable and gives its size.
 */

export interface CodeRunBounds {
  timeoutMs: number;
  /** Outputs longer than this many UTF-16 units are refused before they are copied out. */
  maxOutputLength: number;
  signal?: AbortSignal;
}

export type CodeRunResult =
  | { ok: true; outputJson: string }
  | {
      ok: false;
      reason: 'error' | 'timeout' | 'memory' | 'too_large' | 'aborted';
      message: string;
    };

type CodeRunFailure = Extract<CodeRunResult, { ok: false }>;

// Runs inside the fresh context. $0 is the module namespace, $1 the input JSON, $2 the output
// length cap. The one-letter prefix on the result tells success from a refused output.
const INVOKE_DEFAULT_EXPORT = `
const main = $0.default;
if (typeof main !== 'function') throw new TypeError('the code must export a default function');
return Promise.resolve(main(JSON.parse($1))).then((value) => {
  let json;
  try {
    json = value === undefined ? 'null' : JSON.stringify(value);
  } catch (error) {
    return 'U' + error.message;
  }
  if (json === undefined) return 'U' + 'a ' + typeof value + ' is not JSON';
  if (json.length > $2) return 'L' + json.length;
  return 'J' + json;
});`;

const MAX_CACHED_COMPILATIONS = 500;
const SETTLE_GRACE_MS = 25;

export class CodeSandbox {
  readonly #memoryMb: number;
  #isolate: ivm.Isolate | null = null;
  /** A context created ahead of time, so the next step does not wait for one. */
  #spareContext: Promise<ivm.Context> | null = null;
  /** V8 code cache per code string; valid in any isolate of this process. */
  readonly #compiledCode = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
  #isolatesCreated = 0;
  /** Set by dispose(): an isolate that dies otherwise during a step ran out of memory. */
  #disposedByOwner = false;

  constructor(memoryMb: number) {
    this.#memoryMb = memoryMb;
  }

  async run(code: string, inputJson: string, bounds: CodeRunBounds): Promise<CodeRunResult> {
    if (bounds.signal?.aborted) return { ok: false, reason: 'aborted', message: 'flow aborted' };
    const isolate = this.#liveIsolate();
    const startedAt = performance.now();
    const timeLeft = () =>
      Math.max(1, Math.floor(bounds.timeoutMs - (performance.now() - startedAt)));
    // Aborting has to stop code that is running right now; disposing the isolate is the only way.
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      this.#disposeIsolate(isolate);
    };
    bounds.signal?.addEventListener('abort', onAbort, { once: true });

    let context: ivm.Context | null = null;
    let module: ivm.Module | null = null;
    let namespace: ivm.Reference | null = null;
    try {
      context = await this.#takeContext(isolate);
      // Compiling (from the code cache) and linking run no user code and take microseconds,
      // so they run on this thread: an async call would be two thread hand-offs, and on a busy
      // machine each hand-off waits for a CPU.
      module = this.#compile(isolate, code);
      module.instantiateSync(context, (specifier) => {
        throw new Error(`imports are not available in code steps (got "${specifier}")`);
      });
      await module.evaluate({ timeout: timeLeft() });
      namespace = module.namespace;
      const invocation = context.evalClosure(
        INVOKE_DEFAULT_EXPORT,
        [namespace.derefInto(), inputJson, bounds.maxOutputLength],
        { result: { promise: true, copy: true }, timeout: timeLeft() },
      );
      // The grace lets isolated-vm's own timeout win for code that is still running.
      const result = await settleWithin(invocation, timeLeft() + SETTLE_GRACE_MS);
      if (result === NEVER_SETTLED) return timedOut(bounds.timeoutMs);
      return decodeResult(result, bounds.maxOutputLength);
    } catch (error) {
      if (aborted) return { ok: false, reason: 'aborted', message: 'flow aborted' };
      return this.#describeFailure(error, isolate, bounds.timeoutMs);
    } finally {
      bounds.signal?.removeEventListener('abort', onAbort);
      if (!isolate.isDisposed) {
        namespace?.release();
        module?.release();
        context?.release();
      }
      this.#prepareSpareContext();
    }
  }

  /** How many isolates this sandbox has created: 1 while it stays healthy. */
  get isolatesCreated(): number {
    return this.#isolatesCreated;
  }

  /** Disposes the isolate; the next run creates a new one. */
  dispose(): void {
    this.#disposedByOwner = true;
    if (this.#isolate) this.#disposeIsolate(this.#isolate);
  }

  #liveIsolate(): ivm.Isolate {
    if (!this.#isolate || this.#isolate.isDisposed) {
      this.#isolate = new ivm.Isolate({ memoryLimit: this.#memoryMb });
      this.#isolatesCreated += 1;
      this.#spareContext = null;
    }
    return this.#isolate;
  }

  #disposeIsolate(isolate: ivm.Isolate): void {
    if (this.#isolate === isolate) {
      this.#isolate = null;
      this.#spareContext = null;
    }
    if (!isolate.isDisposed) isolate.dispose();
  }

  #takeContext(isolate: ivm.Isolate): Promise<ivm.Context> {
    const spare = this.#spareContext;
    this.#spareContext = null;
    return spare ?? isolate.createContext();
  }

  #prepareSpareContext(): void {
    const isolate = this.#isolate;
    if (!isolate || isolate.isDisposed || this.#spareContext) return;
    const spare = isolate.createContext();
    // A spare that fails (the isolate was disposed meanwhile) is simply not used.
    spare.catch(() => {
      if (this.#spareContext === spare) this.#spareContext = null;
    });
    this.#spareContext = spare;
  }

  #compile(isolate: ivm.Isolate, code: string): ivm.Module {
    const cachedData = this.#compiledCode.get(code);
    const module = isolate.compileModuleSync(code, {
      filename: 'file:///code-step.js',
      ...(cachedData ? { cachedData } : { produceCachedData: true }),
    });
    const produced = (module as ivm.Module & ivm.CachedDataResult).cachedData;
    if (!cachedData && produced) {
      if (this.#compiledCode.size >= MAX_CACHED_COMPILATIONS) this.#compiledCode.clear();
      this.#compiledCode.set(code, produced);
    }
    return module;
  }

  #describeFailure(error: unknown, isolate: ivm.Isolate, timeoutMs: number): CodeRunFailure {
    const message = error instanceof Error ? error.message : '';
    if (isolate.isDisposed) {
      this.#disposeIsolate(isolate);
      // isolated-vm names the memory limit only on some of the calls it rejects; nothing but
      // the limit or our own dispose() kills an isolate mid-step (aborts return earlier).
      return /due to memory limit/.test(message) || !this.#disposedByOwner
        ? { ok: false, reason: 'memory', message: `code used more than ${this.#memoryMb} MB` }
        : { ok: false, reason: 'error', message: 'the code sandbox was shut down during the step' };
    }
    if (message === 'Script execution timed out.') return timedOut(timeoutMs);
    return { ok: false, reason: 'error', message: describeThrown(error) };
  }
}

function timedOut(timeoutMs: number): CodeRunFailure {
  return { ok: false, reason: 'timeout', message: `code ran longer than ${timeoutMs} ms` };
}

const NEVER_SETTLED = Symbol('never settled');

/**
 * isolated-vm's timeout covers running code, not a promise that never settles. Inside the
 * isolate there are no timers or I/O, so such a promise would wait forever.
 */
function settleWithin<T>(
  promise: Promise<T>,
  timeoutMs: number,
): Promise<T | typeof NEVER_SETTLED> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof NEVER_SETTLED>((resolve) => {
    timer = setTimeout(() => resolve(NEVER_SETTLED), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function decodeResult(result: unknown, maxOutputLength: number): CodeRunResult {
  const text = String(result);
  const payload = text.slice(1);
  switch (text[0]) {
    case 'J':
      return { ok: true, outputJson: payload };
    case 'L':
      return {
        ok: false,
        reason: 'too_large',
        message: `output is ${payload} characters of JSON, over the cap of ${maxOutputLength}`,
      };
    default:
      return { ok: false, reason: 'error', message: `output is not JSON-serialisable: ${payload}` };
  }
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message}`;
  }
  return `code threw ${typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error))}`;
}
