import type { Logger } from 'pino';
import type { Database } from '../db/client';
import {
  failLostRun,
  hasUnfinishedRuns,
  type OverdueRun,
  overdueRuns,
  requeueLostRun,
} from '../db/run-recovery-store';
import type { RunMetrics } from '../metrics/run-metrics';
import type { RunQueue } from '../queue/run-queue';
import type { IdleWatch } from './idle-watch';
import type { LeaderLease } from './leader-lease';
import { createLostRunGrace } from './lost-run-grace';

/**
 * A resting reconciler still takes one pass a day, so retention keeps pruning an install that
 * sees no traffic for weeks (it wakes the database for a few minutes).
 */
export const RESTING_PASS_MS = 24 * 3600 * 1000;

export interface RunReconcilerDeps {
  db: Database;
  queue: RunQueue;
  lease: LeaderLease;
  logger: Logger;
  intervalMs: number;
  /** Only runs queued or started longer ago than this are looked at. */
  afterS: number;
  /** Attempts a run gets before a lost worker fails it with worker_lost. */
  maxAttempts: number;
  /**
   * Counts the runs failed with worker_lost in RunsFailed: their workers died before recording
   * anything, so the failure rate would not see them otherwise.
   * @default - not counted (metrics off)
   */
  runMetrics?: Pick<RunMetrics, 'recordLostRun'> | undefined;
  /** Take every unfinished run in the first pass, whatever its age (embedded restart). */
  firstPassIgnoresAge?: boolean;
  batchSize?: number;
  /**
   * Retention, run after each pass while this instance holds the lease; its errors are logged
   * and never stop reconciling.
   * @default - no pruning
   */
  prune?: () => Promise<unknown>;
  /**
   * Lets the reconciler rest (lease and session given up, no passes but a daily one) after a
   * pass that found no queued or running run while this process was quiet; work wakes it.
   * @default - never rests
   */
  idle?: IdleWatch | undefined;
  /**
   * The clock of the lost-run grace (the queue's `lostJobGraceMs`).
   * @default Date.now
   */
  now?: () => number;
}

/**
 * How many of a pass's retried and failed runs its log line names: enough to find the flows
 * whose workers die, bounded when a whole fleet was lost at once.
 */
const NAMED_RUNS_PER_PASS = 20;

export interface ReconcilePass {
  /** False when another instance holds the lease. */
  leader: boolean;
  /** Queued runs whose job was missing or dead, enqueued again. */
  reenqueued: number;
  /** Running runs whose worker was lost, queued for another attempt. */
  retried: number;
  /** Running runs whose worker was lost on the last attempt, failed with worker_lost. */
  failed: number;
}

export interface RunReconciler {
  /** Runs the first pass now, then one every `intervalMs`. */
  start(): void;
  reconcileOnce(options?: { ignoreAge?: boolean }): Promise<ReconcilePass>;
  /** True while it rests (see `idle`). */
  readonly resting: boolean;
  close(): Promise<void>;
}

/**
 * The outbox reconciler and stuck-run reaper, one pass every `intervalMs` on the instance that
 * holds the lease. The run row is the truth and the job id is the run id, so a pass is
 * idempotent: it only acts on runs without a live job, and every row change is conditional on
 * the status and attempt it read.
 * - `queued` without a live job (Redis lost it, or the enqueue failed): enqueue again.
 * - `running` without a live job (BullMQ's stalled check failed it after its worker stopped
 *   renewing the lock, or Redis lost it; with SQS, no hold for longer than the queue's
 *   `lostJobGraceMs`): back to `queued` for another attempt while attempt < maxAttempts, else
 *   `failed` with worker_lost.
 */
export function createRunReconciler(deps: RunReconcilerDeps): RunReconciler {
  const batchSize = deps.batchSize ?? 1000;
  const grace = createLostRunGrace(deps.queue.lostJobGraceMs ?? 0, deps.now ?? Date.now);

  async function withoutLiveJob(rows: OverdueRun[]): Promise<OverdueRun[]> {
    if (rows.length === 0) return rows;
    const live = await deps.queue.liveJobIds(rows.map((row) => row.id));
    return rows.filter((row) => !live.has(row.id));
  }

  async function reconcileOnce({ ignoreAge = false } = {}): Promise<ReconcilePass> {
    const pass: ReconcilePass = { leader: false, reenqueued: 0, retried: 0, failed: 0 };
    const named = { retriedRunIds: [] as string[], failedRunIds: [] as string[] };
    /** The runs a lost worker cost an attempt, by id (the first few: a pass takes up to a batch). */
    const name = (ids: string[], runId: string) => {
      if (ids.length < NAMED_RUNS_PER_PASS) ids.push(runId);
    };
    if (!(await deps.lease.acquire())) {
      // What this instance saw may be stale when it leads again.
      grace.forget();
      return pass;
    }
    pass.leader = true;
    const afterS = ignoreAge ? 0 : deps.afterS;

    const running = await withoutLiveJob(await overdueRuns(deps.db, 'running', afterS, batchSize));
    for (const run of grace.lost(running)) {
      if (run.attempt - run.interruptions >= deps.maxAttempts) {
        if (await failLostRun(deps.db, run)) {
          pass.failed++;
          name(named.failedRunIds, run.id);
          deps.runMetrics?.recordLostRun();
        }
      } else if (await requeueLostRun(deps.db, run)) {
        await deps.queue.requeue({ runId: run.id, replyTo: null });
        pass.retried++;
        name(named.retriedRunIds, run.id);
      }
    }
    const queued = await withoutLiveJob(await overdueRuns(deps.db, 'queued', afterS, batchSize));
    const deferred = deps.queue.deferredResends?.(queued.map((run) => run.id));
    for (const run of queued) {
      if (deferred?.has(run.id)) continue;
      await deps.queue.requeue({ runId: run.id, replyTo: null });
      pass.reenqueued++;
    }
    if (pass.reenqueued + pass.retried + pass.failed > 0) {
      deps.logger.warn({ ...pass, ...named }, 'reconciler recovered runs');
    }
    await deps.prune?.().catch((error: unknown) => {
      deps.logger.warn({ err: error }, 'retention pass failed');
    });
    return pass;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let passing = false;
  let resting = false;
  let wokenDuringPass = false;

  /** After a pass: rest when nothing is unfinished and nothing happened meanwhile. */
  async function restIfIdle(): Promise<void> {
    const { idle } = deps;
    if (idle === undefined || !idle.isQuiet() || (await hasUnfinishedRuns(deps.db))) return;
    await deps.lease.rest?.();
    // Work that began while the lease was given up finds it awake.
    resting = idle.isQuiet();
    if (resting) deps.logger.debug('reconciler resting: nothing unfinished, nothing happening');
  }

  const tick = (options?: { ignoreAge?: boolean }) => {
    passing = true;
    resting = false;
    wokenDuringPass = false;
    running = reconcileOnce(options)
      .then(restIfIdle)
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'reconciler pass failed'))
      .finally(() => {
        passing = false;
        if (stopped) return;
        if (wokenDuringPass) resting = false;
        const delay = resting ? RESTING_PASS_MS : wokenDuringPass ? 0 : deps.intervalMs;
        timer = setTimeout(tick, delay);
        if (resting) timer.unref();
      });
  };

  deps.idle?.onBegin(() => {
    if (passing) wokenDuringPass = true;
    else if (resting && !stopped) {
      clearTimeout(timer);
      tick();
    }
    return undefined;
  });

  return {
    start: () => tick({ ignoreAge: deps.firstPassIgnoresAge ?? false }),
    reconcileOnce,
    get resting() {
      return resting;
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await deps.lease.release().catch(() => {});
    },
  };
}
