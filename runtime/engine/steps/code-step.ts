import { previewText } from '../../db/storable-text';
import { assertNever } from '../assert-never';
import {
  CARRIED_DESCRIPTION_LENGTH,
  MAX_DESCRIPTION_LENGTH,
  MAX_SECRET_FORM_LENGTH,
} from '../code-step-harness';
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
      throw new StepFailedError(
        describedFailure(result.message, (text) => run.redact(text)),
        {
          retry: { afterMs: null },
        },
      );
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

/**
 * A failure's description as the run records it: redacted, then cut to MAX_DESCRIPTION_LENGTH.
 * One the isolate already cut (see CARRIED_DESCRIPTION_LENGTH) also loses the units where that
 * cut may have left part of a secret, which no redaction recognises.
 */
export function describedFailure(message: string, redact: (text: string) => string): string {
  const redacted = redact(message);
  const whole =
    message.length > CARRIED_DESCRIPTION_LENGTH
      ? redacted.slice(0, Math.max(0, redacted.length - MAX_SECRET_FORM_LENGTH))
      : redacted;
  return whole.length > MAX_DESCRIPTION_LENGTH
    ? `${previewText(whole, MAX_DESCRIPTION_LENGTH - 1)}…`
    : whole;
}
