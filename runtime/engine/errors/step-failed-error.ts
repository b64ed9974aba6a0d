import type { StepLocation } from './step-location';

/**
 * Set on a failure that trying again may cure (a network error, a 429 or 5xx, a throw in code):
 * a step with `retry` tries again. `afterMs` is the wait the server asked for (Retry-After).
 */
export interface RetryHint {
  afterMs: number | null;
}

/** A step could not do its job: bad input, a thrown error in code, an HTTP status >= 400. */
export class StepFailedError extends Error {
  override readonly name = 'StepFailedError' as const;
  step: StepLocation | null = null;
  readonly retry: RetryHint | null;

  constructor(message: string, options?: { cause?: unknown; retry?: RetryHint }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retry = options?.retry ?? null;
  }
}
