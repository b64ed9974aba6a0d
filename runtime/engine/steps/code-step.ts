import { assertNever } from '../assert-never';
import { abortedError, pastDeadlineError, stepTimeBudget } from '../deadline';
import { LimitExceededError } from '../errors/limit-exceeded-error';
import { StepFailedError } from '../errors/step-failed-error';
import type { RunScope, StepOutput } from '../run-scope';
import { codeSecretNames } from '../secret-ref';
import type { CodeStep } from '../step-schemas';
import type { StepContext, StepInputSlot } from './step-context';

export async function executeCodeStep(
  step: CodeStep,
  scope: RunScope,
  run: StepContext,
  slot: StepInputSlot,
): Promise<StepOutput> {
  const { codeTimeoutMs, maxStepOutputBytes, codeMemoryMb } = run.limits;
  const secretNames = codeSecretNames(step.code);
  const missing = scope.missingSecrets(secretNames);
  if (missing.length > 0) {
    throw new StepFailedError(
      `secret "${missing[0]}" does not exist (deleted after this flow version was saved)`,
    );
  }
  const budget = stepTimeBudget(codeTimeoutMs, run.deadline);
  // The JSON handed to the isolate is the logged input's JSON too; the value only points at
  // values the run holds already.
  const json = scope.codeContextJson(secretNames);
  slot.input = { value: scope.codeContextValue(secretNames), json };
  const result = await run.sandbox.run(step.code, json, {
    timeoutMs: budget.timeoutMs,
    maxOutputLength: maxStepOutputBytes,
    signal: run.signal,
  });
  if (result.ok) return { value: JSON.parse(result.outputJson), json: result.outputJson };
  switch (result.reason) {
    case 'error':
      // A throw may be transient (the code's own checks); the caps below never are.
      throw new StepFailedError(result.message, { retry: { afterMs: null } });
    case 'timeout':
      if (budget.deadlineBinds) throw pastDeadlineError(run.deadline);
      throw new LimitExceededError(
        'codeTimeoutMs',
        `code ran longer than codeTimeoutMs (${codeTimeoutMs} ms) and was stopped`,
      );
    case 'memory':
      throw new LimitExceededError(
        'codeMemoryMb',
        `code used more than codeMemoryMb (${codeMemoryMb} MB) and was stopped`,
      );
    case 'too_large':
      throw new LimitExceededError(
        'maxStepOutputBytes',
        `output is over maxStepOutputBytes (${maxStepOutputBytes} bytes): ${result.message}`,
      );
    case 'aborted':
      throw abortedError(run.signal);
    default:
      return assertNever(result.reason);
  }
}
