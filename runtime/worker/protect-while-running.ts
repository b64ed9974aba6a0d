import type { Logger } from 'pino';
import type { RunJob, RunProcessor } from '../queue/run-queue';
import type { TaskProtection } from './task-protection';

export interface ProtectWhileRunningOptions {
  protection: TaskProtection;
  /** How long one run may take: the flow timeout plus the drain window. */
  runBudgetMs: number;
  logger: Logger;
}

/**
 * Wraps the processor so the task is scale-in protected while any run is in hand, and
 * unprotected once idle. Protection is renewed only when less than one run budget is left, so
 * back-to-back runs cost one agent call, not two per run. A failed agent call is logged and the
 * run goes on: protection is a safety net, never a reason to drop work.
 */
export function protectWhileRunning(
  processor: RunProcessor,
  { protection, runBudgetMs, logger }: ProtectWhileRunningOptions,
): RunProcessor {
  let inFlight = 0;
  let protectedUntil = 0;
  let change: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>) => {
    change = change.then(step).catch((error: unknown) => {
      logger.warn({ err: error }, 'task protection not updated');
    });
    return change;
  };

  return async function protectedRun(job: RunJob): Promise<void> {
    inFlight++;
    await serial(async () => {
      if (Date.now() + runBudgetMs <= protectedUntil) return;
      // Cover two budgets, so the renewal happens only every other run budget.
      await protection.enable(2 * runBudgetMs);
      protectedUntil = Date.now() + 2 * runBudgetMs;
    });
    try {
      await processor(job);
    } finally {
      inFlight--;
      void serial(async () => {
        if (inFlight > 0 || protectedUntil === 0) return;
        protectedUntil = 0;
        await protection.disable();
      });
    }
  };
}
