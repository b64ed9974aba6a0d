import type { StepLocation } from './step-location';

/** A step could not do its job: bad input, a thrown error in code, an HTTP status >= 400. */
export class StepFailedError extends Error {
  override readonly name = 'StepFailedError' as const;
  step: StepLocation | null = null;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
