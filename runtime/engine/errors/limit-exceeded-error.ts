import type { EngineLimits } from '../engine-limits';
import type { StepLocation } from './step-location';

/** The flow went over one of the engine's limits; `limit` names which one. */
export class LimitExceededError extends Error {
  override readonly name = 'LimitExceededError' as const;
  step: StepLocation | null = null;

  constructor(
    readonly limit: keyof EngineLimits,
    message: string,
  ) {
    super(message);
  }
}
