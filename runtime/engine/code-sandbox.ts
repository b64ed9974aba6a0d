import type ivm from 'isolated-vm';
import { type Settled, settleWithin } from './bounded-wait';
import {
  aborted,
  type CodeRunFailure,
  type CodeRunResult,
  decodeOutcome,
  overMemory,
  sandboxShutDown,
  timedOut,
} from './code-run-result';
import {
  CODE_SPECIFIER,
  ENTRY_SOURCE,
  FIRST_ENTRY_SOURCE,
  GUARD_SOURCE,
  GUARD_SPECIFIER,
  OUTCOME_NAME,
  START_SOURCE,
  START_SPECIFIER,
  STEP_INPUT_GLOBAL,
} from './code-step-harness';
import { disposeAndConfirm } from './isolate-disposal';
import { IsolateTurns } from './isolate-turns';
import { RunContext } from './run-context';
import { SandboxIsolate } from './sandbox-isolate';

/**
 * Runs code steps (`export default (ctx) => value`, sync or async) in isolated-vm. One isolate
 * is reused across runs; each run gets a context of its own, which its code steps share (one
 * flow author wrote them all) and which no other run ever sees. Steps take turns on the
 * isolate, and each runs inside the harness (code-step-harness.ts), so what reaches the host is
 * a string made inside the isolate.
 *
 * Every wait on the isolate is bounded by the step's time left plus SETTLE_MARGIN_MS. An isolate
 * whose step timed out, hit the memory cap, never settled or outlived a wait is disposed, and the
 * next step gets a new one; an isolate that cannot be disposed is reported to `onIsolateLost`.
 */

export interface CodeRunBounds {
  timeoutMs: number;
  /** Outputs longer than this many UTF-16 units are refused before they are copied out. */
  maxOutputLength: number;
  signal?: AbortSignal;
}

/** What a host-side wait allows beyond the step's time left, so that isolated-vm's own timeout wins. */
const SETTLE_MARGIN_MS = 50;
/**
 * How long a disposed isolate's thread may take to let go before the isolate counts as lost
 * (and the worker ends itself). Generous: on a starved machine a healthy teardown can take
 * seconds, and a false verdict costs a worker restart and a re-run, a true one 10 s more.
 */
export const DISPOSAL_CONFIRM_MS = 10_000;
const MAX_CACHED_COMPILATIONS = 500;
const CODE_FILE = 'file:///code-step.js';
const GUARD_FILE = 'file:///sluice-guard.js';
const START_FILE = 'file:///sluice-start.js';
const ENTRY_FILE = 'file:///sluice-entry.js';
const FIRST_ENTRY_FILE = 'file:///sluice-first-entry.js';

/** One run's code steps, in the context they share. */
export interface CodeSandboxRun {
  run(code: string, inputJson: string, bounds: CodeRunBounds): Promise<CodeRunResult>;
  /** Releases the run's context. Call once the run has ended, however it ended. */
  end(): void;
}

interface ContextHolder {
  context: RunContext | null;
  ended: boolean;
}

export class CodeSandbox {
  readonly #memoryMb: number;
  readonly #onIsolateLost: (reason: string) => void;
  readonly #turns = new IsolateTurns();
  /** V8 code cache per source; valid in any isolate of this process. */
  readonly #compiledCode = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
  /** Disposals whose isolate thread has not let go yet. */
  readonly #disposals = new Set<Promise<void>>();
  #current: SandboxIsolate | null = null;
  #isolatesCreated = 0;
  #contextsCreated = 0;
  #lost = false;
  #closed = false;

  /**
   * `onIsolateLost` is told, once, when an isolate cannot be disposed (dispose() failed, its
   * thread stayed busy DISPOSAL_CONFIRM_MS after, or V8 gave up on it). Its thread is then held
   * for good, and a normal process exit would wait for it forever: the worker ends itself.
   */
  constructor(memoryMb: number, onIsolateLost: (reason: string) => void = () => {}) {
    this.#memoryMb = memoryMb;
    this.#onIsolateLost = onIsolateLost;
  }

  /**
   * Starts a run's use of the sandbox: its code steps share one context, made at its first step
   * and released by `end()`. A context is never given to another run.
   */
  openRun(): CodeSandboxRun {
    const holder: ContextHolder = { context: null, ended: false };
    return {
      run: (code, inputJson, bounds) => this.#run(holder, code, inputJson, bounds),
      end: () => {
        holder.ended = true;
        holder.context?.release();
        holder.context = null;
      },
    };
  }

  /** Runs one step as a run of its own, in a context of its own. */
  async run(code: string, inputJson: string, bounds: CodeRunBounds): Promise<CodeRunResult> {
    const run = this.openRun();
    try {
      return await run.run(code, inputJson, bounds);
    } finally {
      run.end();
    }
  }

  async #run(
    holder: ContextHolder,
    code: string,
    inputJson: string,
    bounds: CodeRunBounds,
  ): Promise<CodeRunResult> {
    if (holder.ended) throw new Error('a code step was run after its run ended');
    const { signal } = bounds;
    if (signal?.aborted) return aborted;
    if (this.#closed) return sandboxShutDown;
    const startedAt = performance.now();
    const timeLeft = () => bounds.timeoutMs - (performance.now() - startedAt);
    const endTurn = await this.#turns.take(timeLeft(), signal);
    if (endTurn === null) return signal?.aborted ? aborted : timedOut(bounds.timeoutMs);
    try {
      return await this.#runInTurn(holder, code, inputJson, bounds, timeLeft);
    } finally {
      endTurn();
    }
  }

  /**
   * How long the step now running has held the isolate: 0 while it is free. Every wait on the
   * isolate is bounded, so this never passes a step's time cap by much; when it does, the
   * worker is wedged (worker liveness reports it).
   */
  busyForMs(): number {
    return this.#turns.heldForMs();
  }

  /** Runs a trivial step as any other: true when the isolate answered it within `timeoutMs`. */
  async answers(timeoutMs: number): Promise<boolean> {
    const result = await this.run('export default () => 1', 'null', {
      timeoutMs,
      maxOutputLength: 16,
    });
    return result.ok;
  }

  /** How many isolates this sandbox has created: 1 while it stays healthy. */
  get isolatesCreated(): number {
    return this.#isolatesCreated;
  }

  /** How many contexts runs have taken: one per run that ran code, plus one per replacement. */
  get contextsCreated(): number {
    return this.#contextsCreated;
  }

  /**
   * Disposes the isolate (the next run creates a new one). Resolves once every isolate this
   * sandbox disposed has let go of its thread, or has been reported lost.
   */
  async dispose(): Promise<void> {
    if (this.#current !== null) this.#discard(this.#current);
    await Promise.all(this.#disposals);
  }

  /**
   * Disposes the isolate for good, for a process that is stopping: a step that starts later
   * (a run still going, a liveness probe) ends at once as shut down, and no new isolate is made
   * that the process's exit would find running. Resolves as dispose() does.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.dispose();
  }

  async #runInTurn(
    holder: ContextHolder,
    code: string,
    inputJson: string,
    bounds: CodeRunBounds,
    timeLeft: () => number,
  ): Promise<CodeRunResult> {
    // Closed while this step waited for its turn: no new isolate is made.
    if (this.#closed) return sandboxShutDown;
    const slot = this.#liveIsolate();
    const { signal } = bounds;
    // Aborting has to stop code that is running right now; disposing the isolate is the only way.
    const onAbort = () => this.#discard(slot);
    signal?.addEventListener('abort', onAbort, { once: true });
    const modules: ivm.Module[] = [];
    try {
      // A context left in an isolate that has since been disposed (this run's step or another
      // run's misbehaved) is gone with it: the run goes on in a new context.
      if (holder.context !== null && holder.context.slot !== slot) holder.context = null;
      if (holder.context === null) {
        const making = slot.takeContext();
        const made = await settleWithin(making, timeLeft() + SETTLE_MARGIN_MS);
        if (made.status !== 'fulfilled') return this.#conclude(slot, made, making, bounds);
        holder.context = new RunContext(slot, made.value);
        this.#contextsCreated += 1;
      }
      const runContext = holder.context;
      const timeoutMs = Math.floor(timeLeft());
      if (timeoutMs < 1) return timedOut(bounds.timeoutMs);

      // The isolate is idle (this step holds the turn and its context is made), so these
      // synchronous calls do not wait; they run none of the steps' code.
      const user = this.#compile(slot.isolate, code, CODE_FILE);
      modules.push(user);
      // GUARD is the context's, once a step's evaluation has run it; until then each try
      // brings its own (released with the step's modules if it never gets that far), which
      // does START's work itself (FIRST_ENTRY).
      const adopted = runContext.guard;
      const start = adopted === null ? null : this.#compile(slot.isolate, START_SOURCE, START_FILE);
      if (start !== null) modules.push(start);
      const entry =
        adopted === null
          ? this.#compile(slot.isolate, FIRST_ENTRY_SOURCE, FIRST_ENTRY_FILE)
          : this.#compile(slot.isolate, ENTRY_SOURCE, ENTRY_FILE);
      modules.push(entry);
      const guard = adopted ?? this.#compile(slot.isolate, GUARD_SOURCE, GUARD_FILE);
      if (adopted === null) {
        modules.push(guard);
        // Linked on its own first: isolated-vm binds a module to its context (which its
        // namespace needs, later) only when it is instantiated directly.
        guard.instantiateSync(runContext.context, refuseImport);
      }
      entry.instantiateSync(runContext.context, (specifier, referrer) => {
        if (referrer === entry && specifier === START_SPECIFIER && start !== null) return start;
        if (referrer === entry && specifier === CODE_SPECIFIER) return user;
        if ((referrer === entry || referrer === start) && specifier === GUARD_SPECIFIER) {
          return guard;
        }
        return refuseImport(specifier);
      });
      if (adopted === null) {
        // No step's code has run in this context yet: GUARD takes this input from a global.
        runContext.context.global.setSync(STEP_INPUT_GLOBAL, [inputJson, bounds.maxOutputLength], {
          copy: true,
        });
        modules.splice(modules.indexOf(guard), 1);
        runContext.adoptGuard(guard);
      } else {
        runContext.prepareStep(guard, inputJson, bounds.maxOutputLength, timeoutMs);
      }

      const evaluating = entry.evaluate({ timeout: timeoutMs });
      const evaluated = await settleWithin(evaluating, timeoutMs + SETTLE_MARGIN_MS);
      return this.#conclude(slot, evaluated, evaluating, bounds, holder);
    } catch (error) {
      // Compiling, linking or handing over the input: a syntax error or a refused import,
      // unless the isolate went away meanwhile.
      if (slot.isDisposed)
        return this.#conclude(slot, { status: 'rejected', reason: error }, null, bounds);
      return { ok: false, reason: 'error', message: describeHostError(error) };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!slot.isDisposed) for (const module of modules) module.release();
      // The next run's context, made once the host has sent what this step led to.
      if (this.#current === slot) slot.prepareSpareContext(() => this.#turns.isFree());
    }
  }

  /**
   * Turns a settled (or still pending) call on the isolate into the step's result, disposing
   * the isolate unless the step ended cleanly.
   */
  #conclude(
    slot: SandboxIsolate,
    settled: Settled<unknown>,
    call: Promise<unknown> | null,
    bounds: CodeRunBounds,
    holder?: ContextHolder,
  ): CodeRunResult {
    if (settled.status === 'rejected' && isOutcome(settled.reason)) {
      const { result, disposeIsolate, retireContext } = decodeOutcome(settled.reason.message, {
        timeoutMs: bounds.timeoutMs,
        memoryMb: this.#memoryMb,
        maxOutputLength: bounds.maxOutputLength,
      });
      if (disposeIsolate) this.#discard(slot);
      else if (retireContext && holder?.context) {
        holder.context.release();
        holder.context = null;
      }
      return result;
    }
    const killedForMemory = slot.isDisposed && !slot.disposedByOwner;
    this.#discard(slot, settled.status === 'pending' && call !== null ? call : undefined);
    if (bounds.signal?.aborted) return aborted;
    return this.#failure(settled, killedForMemory, bounds.timeoutMs);
  }

  #failure(settled: Settled<unknown>, killedForMemory: boolean, timeoutMs: number): CodeRunFailure {
    if (settled.status === 'pending') return timedOut(timeoutMs);
    const message = settled.status === 'rejected' ? errorMessage(settled.reason) : '';
    // isolated-vm names the memory limit on only some of the calls it rejects.
    if (killedForMemory || /due to memory limit/.test(message)) return overMemory(this.#memoryMb);
    if (message === 'Script execution timed out.') return timedOut(timeoutMs);
    if (/disposed/i.test(message)) return sandboxShutDown;
    return { ok: false, reason: 'error', message: 'the code sandbox failed during the step' };
  }

  #liveIsolate(): SandboxIsolate {
    if (this.#current === null || this.#current.isDisposed) {
      this.#current = new SandboxIsolate(this.#memoryMb, (message) =>
        this.#reportLost(`V8 gave up on a code-step isolate (${message})`),
      );
      this.#isolatesCreated += 1;
    }
    return this.#current;
  }

  /** Disposes `slot` (once) and checks, in the background, that its thread lets go. */
  #discard(slot: SandboxIsolate, running?: Promise<unknown>): void {
    if (this.#current === slot) this.#current = null;
    if (slot.disposedByOwner) return;
    slot.disposedByOwner = true;
    const disposal = disposeAndConfirm(slot.isolate, DISPOSAL_CONFIRM_MS, running).then((gone) => {
      if (!gone) {
        this.#reportLost(
          `a code-step isolate could not be disposed: its thread was still busy ${DISPOSAL_CONFIRM_MS} ms after`,
        );
      }
    });
    this.#disposals.add(disposal);
    void disposal.finally(() => this.#disposals.delete(disposal));
  }

  #reportLost(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#onIsolateLost(reason);
  }

  #compile(isolate: ivm.Isolate, source: string, filename: string): ivm.Module {
    const cachedData = this.#compiledCode.get(source);
    const module = isolate.compileModuleSync(source, {
      filename,
      ...(cachedData ? { cachedData } : { produceCachedData: true }),
    });
    const produced = (module as ivm.Module & ivm.CachedDataResult).cachedData;
    if (!cachedData && produced) {
      if (this.#compiledCode.size >= MAX_CACHED_COMPILATIONS) this.#compiledCode.clear();
      this.#compiledCode.set(source, produced);
    }
    return module;
  }
}

function refuseImport(specifier: string): never {
  throw new Error(`imports are not available in code steps (got "${specifier}")`);
}

/** isolated-vm's host-side copy of the carrier (code-step-harness.ts). */
function isOutcome(error: unknown): error is Error {
  return error instanceof Error && error.name === OUTCOME_NAME;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : '';
}

/**
 * A compile or link error. These are made on the host (a refused import) or by V8's parser
 * before any of the step's code ran, so they carry no value of the step's.
 */
function describeHostError(error: unknown): string {
  if (!(error instanceof Error)) return 'the code could not be compiled';
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${name}${error.message}`;
}
