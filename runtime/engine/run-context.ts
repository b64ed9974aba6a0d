import type ivm from 'isolated-vm';
import { PREPARE_EXPORT } from './code-step-harness';
import type { SandboxIsolate } from './sandbox-isolate';

/**
 * The V8 context one run's code steps share, in one isolate, with the run's GUARD module
 * (code-step-harness.ts) once a step has been evaluated in it. Never handed to another run.
 */
export class RunContext {
  readonly slot: SandboxIsolate;
  readonly context: ivm.Context;
  /** GUARD, once a step's evaluation has started in this context (and so run GUARD first). */
  #guard: ivm.Module | null = null;
  #prepare: ivm.Reference | null = null;

  constructor(slot: SandboxIsolate, context: ivm.Context) {
    this.slot = slot;
    this.context = context;
  }

  /** GUARD, or null while no step's code has run here (so its globals are still the pristine ones). */
  get guard(): ivm.Module | null {
    return this.#guard;
  }

  /** Records that `guard` has been, or is being, evaluated in this context. */
  adoptGuard(guard: ivm.Module): void {
    this.#guard = guard;
  }

  /**
   * Hands the next step its input through GUARD's `prepare`: the one way in once steps' code has
   * run here, since a global the host set could run that code's setter (with no time cap).
   * None of these calls runs step code: GUARD has been evaluated already, so evaluating it again
   * only gives isolated-vm its namespace; and a module namespace's bindings cannot be redefined.
   */
  prepareStep(
    guard: ivm.Module,
    inputJson: string,
    maxOutputLength: number,
    timeoutMs: number,
  ): void {
    if (this.#prepare === null) {
      guard.evaluateSync({ timeout: timeoutMs });
      this.#prepare = guard.namespace.getSync(PREPARE_EXPORT, { reference: true });
    }
    this.#prepare.applySync(undefined, [inputJson, maxOutputLength], { timeout: timeoutMs });
  }

  /** Lets V8 collect the context (and what the run's steps left in it). */
  release(): void {
    if (this.slot.isDisposed) return;
    this.#prepare?.release();
    this.#guard?.release();
    this.context.release();
  }
}
