import { FlowTimeoutError } from './flow-timeout-error';
import { LimitExceededError } from './limit-exceeded-error';
import { StepFailedError } from './step-failed-error';
import type { StepLocation } from './step-location';

/** Every error the engine turns into a run outcome. */
export type EngineError = StepFailedError | LimitExceededError | FlowTimeoutError;

/**
 * Turns anything thrown into an EngineError, so that nothing escapes the engine. The innermost
 * step to see an error claims it, which makes `failedStep` the step that actually failed.
 */
export function toEngineError(error: unknown, step?: StepLocation): EngineError {
  const engineError =
    error instanceof StepFailedError ||
    error instanceof LimitExceededError ||
    error instanceof FlowTimeoutError
      ? error
      : new StepFailedError(error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  if (step && engineError.step === null) engineError.step = step;
  return engineError;
}
