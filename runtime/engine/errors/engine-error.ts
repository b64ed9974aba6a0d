import { FlowTimeoutError } from './flow-timeout-error';
import { LimitExceededError } from './limit-exceeded-error';
import { StepFailedError } from './step-failed-error';
import type { StepLocation } from './step-location';

/**
 * An error no step meant to throw: a bug, or a library failing in a way nobody anticipated. Its
 * text is an internal one (a property read on undefined, a driver's words), so the run records
 * a fixed message and the worker logs the cause for operators.
 */
export class InternalStepError extends StepFailedError {
  constructor(cause: unknown) {
    super('the step failed on an internal error; the worker log has its details', { cause });
  }
}

/** Every error the engine turns into a run outcome. */
export type EngineError = StepFailedError | LimitExceededError | FlowTimeoutError;

/**
 * Turns anything thrown into an EngineError, so that nothing escapes the engine: what no step
 * threw on purpose becomes an InternalStepError, whose text never reaches a caller. The innermost
 * step to see an error claims it, which makes `failedStep` the step that actually failed.
 */
export function toEngineError(error: unknown, step?: StepLocation): EngineError {
  const engineError =
    error instanceof StepFailedError ||
    error instanceof LimitExceededError ||
    error instanceof FlowTimeoutError
      ? error
      : new InternalStepError(error);
  if (step && engineError.step === null) engineError.step = step;
  return engineError;
}
