import type ivm from 'isolated-vm';
import { type Settled, settleWithin } from './bounded-wait';
import {
  aborted,
  type CodeRunFailure,
  type CodeRunResult,
  decodeOutcome,
  overMemory,
  timedOut,
} from './code-run-result';
import {
  CODE_SPECIFIER,
  ENTRY_SOURCE,
  GUARD_SOURCE,
  GUARD_SPECIFIER,
  OUTCOME_NAME,
  STEP_INPUT_GLOBAL,
} from './code-step-harness';
import { disposeAndConfirm } from './isolate-disposal';
import { IsolateTurns } from './isolate-turns';
import { SandboxIsolate } from './sandbox-isolate';

/**
 * Runs code steps (`export default (ctx) => value`, sync or async) in isolated-vm. One isolate
 * is reused across runs and every step gets a fresh context, so steps cannot see each other's
 * globals. Steps take turns on the isolate, and each runs inside the harness
 * (code-step-harness.ts), so what reaches the host is a string made inside the isolate.
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
const ENTRY_FILE = 'file:///sluice-entry.js';

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
  #lost = false;

  /**
   * `onIsolateLost` is told, once, when an isolate cannot be disposed (dispose() failed, its
   * thread stayed busy DISPOSAL_CONFIRM_MS after, or V8 gave up on it). Its thread is then held
   * for good, and a normal process exit would wait for it forever: the worker ends itself.
   */
  constructor(memoryMb: number, onIsolateLost: (reason: string) => void = () => {}) {
    this.#memoryMb = memoryMb;
    this.#onIsolateLost = onIsolateLost;
  }

  async run(code: string, inputJson: string, bounds: CodeRunBounds): Promise<CodeRunResult> {
    const { signal } = bounds;
    if (signal?.aborted) return aborted;
    const startedAt = performance.now();
    const timeLeft = () => bounds.timeoutMs - (performance.now() - startedAt);
    const endTurn = await this.#turns.take(timeLeft(), signal);
    if (endTurn === null) return signal?.aborted ? aborted : timedOut(bounds.timeoutMs);
    try {
      return await this.#runInTurn(code, inputJson, bounds, timeLeft);
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

  /**
   * Disposes the isolate (the next run creates a new one). Resolves once every isolate this
   * sandbox disposed has let go of its thread, or has been reported lost.
   */
  async dispose(): Promise<void> {
    if (this.#current !== null) this.#discard(this.#current);
    await Promise.all(this.#disposals);
  }

  async #runInTurn(
    code: string,
    inputJson: string,
    bounds: CodeRunBounds,
    timeLeft: () => number,
  ): Promise<CodeRunResult> {
    const slot = this.#liveIsolate();
    const { signal } = bounds;
    // Aborting has to stop code that is running right now; disposing the isolate is the only way.
    const onAbort = () => this.#discard(slot);
    signal?.addEventListener('abort', onAbort, { once: true });
    const modules: ivm.Module[] = [];
    let context: ivm.Context | null = null;
    try {
      const making = slot.takeContext();
      const made = await settleWithin(making, timeLeft() + SETTLE_MARGIN_MS);
      if (made.status !== 'fulfilled') return this.#conclude(slot, made, making, bounds);
      context = made.value;
      const timeoutMs = Math.floor(timeLeft());
      if (timeoutMs < 1) return timedOut(bounds.timeoutMs);

      // The isolate is idle (this step holds the turn and its context is made), so these
      // synchronous calls do not wait; they run none of the step's code.
      context.global.setSync(STEP_INPUT_GLOBAL, [inputJson, bounds.maxOutputLength], {
        copy: true,
      });
      const guard = this.#compile(slot.isolate, GUARD_SOURCE, GUARD_FILE);
      modules.push(guard);
      const user = this.#compile(slot.isolate, code, CODE_FILE);
      modules.push(user);
      const entry = this.#compile(slot.isolate, ENTRY_SOURCE, ENTRY_FILE);
      modules.push(entry);
      entry.instantiateSync(context, (specifier, referrer) => {
        if (referrer === entry && specifier === GUARD_SPECIFIER) return guard;
        if (referrer === entry && specifier === CODE_SPECIFIER) return user;
        throw new Error(`imports are not available in code steps (got "${specifier}")`);
      });

      const evaluating = entry.evaluate({ timeout: timeoutMs });
      const evaluated = await settleWithin(evaluating, timeoutMs + SETTLE_MARGIN_MS);
      return this.#conclude(slot, evaluated, evaluating, bounds);
    } catch (error) {
      // Compiling, linking or setting the input: a syntax error or a refused import, unless
      // the isolate went away meanwhile.
      if (slot.isDisposed)
        return this.#conclude(slot, { status: 'rejected', reason: error }, null, bounds);
      return { ok: false, reason: 'error', message: describeHostError(error) };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!slot.isDisposed) {
        for (const module of modules) module.release();
        context?.release();
      }
      if (this.#current === slot) slot.prepareSpareContext();
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
  ): CodeRunResult {
    if (settled.status === 'rejected' && isOutcome(settled.reason)) {
      const { result, disposeIsolate } = decodeOutcome(settled.reason.message, {
        timeoutMs: bounds.timeoutMs,
        memoryMb: this.#memoryMb,
        maxOutputLength: bounds.maxOutputLength,
      });
      if (disposeIsolate) this.#discard(slot);
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
    if (/disposed/i.test(message)) {
      return {
        ok: false,
        reason: 'error',
        message: 'the code sandbox was shut down during the step',
      };
    }
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
