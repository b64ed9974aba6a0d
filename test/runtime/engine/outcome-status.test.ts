import { describe, expect, it } from 'vitest';
import { toEngineError } from '../../../runtime/engine/errors/engine-error';
import { FlowTimeoutError } from '../../../runtime/engine/errors/flow-timeout-error';
import { LimitExceededError } from '../../../runtime/engine/errors/limit-exceeded-error';
import { StepFailedError } from '../../../runtime/engine/errors/step-failed-error';
import { statusForError } from '../../../runtime/engine/outcome-status';

describe('statusForError', () => {
  it.each([
    [new StepFailedError('x'), 'StepFailedError', 'failed'],
    [new LimitExceededError('maxLoopIterations', 'x'), 'LimitExceededError', 'limit_exceeded'],
    [new FlowTimeoutError('deadline', 'x'), 'FlowTimeoutError', 'timed_out'],
  ] as const)('maps %s to its status', (error, name, status) => {
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
    expect(statusForError(error)).toBe(status);
  });
});

describe('toEngineError', () => {
  it('turns an unexpected error into a step failure with a fixed message that keeps its cause', () => {
    const cause = new RangeError('weird');
    const error = toEngineError(cause, { stepId: 'a', path: 'a' });
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.message).toBe(
      'the step failed on an internal error; the worker log has its details',
    );
    expect(error.cause).toBe(cause);
    expect(error.step).toEqual({ stepId: 'a', path: 'a' });
  });

  it('keeps the innermost step that claimed the error', () => {
    const error = toEngineError(new StepFailedError('x'), {
      stepId: 'inner',
      path: 'loop[0].inner',
    });
    expect(toEngineError(error, { stepId: 'loop', path: 'loop' }).step?.stepId).toBe('inner');
  });
});
