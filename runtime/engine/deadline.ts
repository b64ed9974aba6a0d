import { FlowTimeoutError } from './errors/flow-timeout-error';

export function pastDeadlineError(deadline: number): FlowTimeoutError {
  return new FlowTimeoutError(
    'deadline',
    `flow ran past its deadline (${new Date(deadline).toISOString()})`,
  );
}

export function abortedError(signal: AbortSignal | undefined): FlowTimeoutError {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new FlowTimeoutError('aborted', `flow aborted${reason}`);
}

/** Throws when the run must not start more work. */
export function throwIfOutOfTime(deadline: number, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
  if (Date.now() >= deadline) throw pastDeadlineError(deadline);
}

/**
 * The time a step may take: its own cap or the time left, whichever is smaller. When the time
 * left is smaller, running out of it is the flow's deadline, not the step's limit.
 */
export function stepTimeBudget(
  capMs: number,
  deadline: number,
): { timeoutMs: number; deadlineBinds: boolean } {
  const timeLeft = deadline - Date.now();
  return timeLeft < capMs
    ? { timeoutMs: Math.max(1, timeLeft), deadlineBinds: true }
    : { timeoutMs: capMs, deadlineBinds: false };
}
