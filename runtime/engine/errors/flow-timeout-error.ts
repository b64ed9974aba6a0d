import type { StepLocation } from './step-location';

/** The flow ran past its deadline, or its caller aborted it. */
export class FlowTimeoutError extends Error {
  override readonly name = 'FlowTimeoutError' as const;
  step: StepLocation | null = null;

  constructor(
    readonly reason: 'deadline' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}
