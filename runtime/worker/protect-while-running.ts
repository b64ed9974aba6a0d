import type { Logger } from 'pino';
import type { RunJob, RunProcessor } from '../queue/run-queue';
import type { TaskProtection } from './task-protection';

export interface ProtectWhileRunningOptions {
  protection: TaskProtection;
  /** How long one run may take: the flow timeout plus the drain window. */
  runBudgetMs: number;
  /**
   * How long the task stays protected after its last run ends, so that the next job of a
   * backlog (taken within milliseconds) costs no agent calls.
   * @default DEFAULT_IDLE_GRACE_MS (5000)
   */
  idleGraceMs?: number;
  logger: Logger;
}

/**
 * Far below what scale-in waits for anyway (target tracking scales in after 15 one-minute
 * datapoints), and far above the moment between one job and the next of a backlog.
 */
const DEFAULT_IDLE_GRACE_MS = 5000;

/**
 * Wraps the processor so the task is scale-in protected while any run is in hand, and
 * unprotected once idle for `idleGraceMs`. Protection is renewed only when less than one run
 * budget is left, so back-to-back runs cost one agent call, not two per run. A failed agent call
 * is logged and the run goes on: protection is a safety net, never a reason to drop work.
 */
export function protectWhileRunning(
  processor: RunProcessor,
  {
    protection,
    runBudgetMs,
    idleGraceMs = DEFAULT_IDLE_GRACE_MS,
    logger,
  }: ProtectWhileRunningOptions,
): RunProcessor {
  let inFlight = 0;
  let protectedUntil = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let change: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>) => {
    change = change.then(step).catch((error: unknown) => {
      logger.warn({ err: error }, 'task protection not updated');
    });
    return change;
  };

  return async function protectedRun(job: RunJob): Promise<void> {
    inFlight++;
    clearTimeout(idleTimer);
    await serial(async () => {
      if (Date.now() + runBudgetMs <= protectedUntil) return;
      // Cover two budgets, so the renewal happens only every other run budget; ECS may grant
      // less (48 h at most), and the next run then renews from what it granted.
      const startedAt = Date.now();
      protectedUntil = startedAt + (await protection.enable(2 * runBudgetMs));
    });
    try {
      await processor(job);
    } finally {
      inFlight--;
      if (inFlight === 0) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          void serial(async () => {
            if (inFlight > 0 || protectedUntil === 0) return;
            protectedUntil = 0;
            await protection.disable();
          });
        }, idleGraceMs);
        // A process ending meanwhile does not wait for it: its task stops, protected or not.
        idleTimer.unref();
      }
    }
  };
}
