import { assertNever } from './assert-never';
import type { EngineError } from './errors/engine-error';

export type UnsuccessfulStatus = 'failed' | 'limit_exceeded' | 'timed_out';

/** The one place that decides which run status an engine error means. */
export function statusForError(error: EngineError): UnsuccessfulStatus {
  switch (error.name) {
    case 'StepFailedError':
      return 'failed';
    case 'LimitExceededError':
      return 'limit_exceeded';
    case 'FlowTimeoutError':
      return 'timed_out';
    default:
      return assertNever(error);
  }
}
