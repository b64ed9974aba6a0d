import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { insertScheduledRun, type ScheduledFlow, scheduledFlows } from '../db/schedule-store';
import { scheduleOf, triggerSchema } from '../engine/trigger-schema';
import type { RunQueue } from '../queue/run-queue';
import type { IdleWatch } from './idle-watch';
import type { LeaderLease } from './leader-lease';
import { nextScheduleTick } from './next-schedule-tick';

/** How often the scheduler lease holder looks for due ticks: a tick fires at most this late. */
export const SCHEDULE_PASS_MS = 500;

/**
 * A resting scheduler wakes this long before the next tick: time for a paused Aurora to
 * resume (about 15 s) and for the lease to be taken, so the tick still fires on time.
 */
export const SCHEDULE_WAKE_LEAD_MS = 30_000;
/** setTimeout's longest delay; a longer rest wakes, looks again and rests again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ScheduleTickerDeps {
  db: Database;
  queue: Pick<RunQueue, 'enqueue'>;
  lease: LeaderLease;
  logger: Logger;
  /** How often the lease holder looks for due ticks; a tick fires at most this late. */
  passIntervalMs: number;
  /**
   * A tick missed while no APP held the lease (an outage, a hand-over) fires only if it is the
   * flow's most recent one and at most this old; older ones are skipped, never back-filled.
   */
  missedWindowMs: number;
  /**
   * SLUICE_SCHEDULE_MIN_INTERVAL_S in ms: a tick less than this after the flow's previous fired
   * tick is skipped. The API refuses a cron whose next ticks come closer than this, but it can
   * only sample them: a daylight-saving change or a month's end can bring two ticks closer.
   * @default 0
   */
  minIntervalMs?: number;
  /**
   * Lets the scheduler rest while this process is quiet: lease and session given up until
   * SCHEDULE_WAKE_LEAD_MS before the next tick of the flows it knows, or, with no scheduled
   * flow, until work wakes it. Every tick it fires is work, so the rest of the APP wakes too.
   * @default - never rests
   */
  idle?: IdleWatch | undefined;
}

export interface SchedulePass {
  leader: boolean;
  /** Runs this pass created (ticks another instance already fired are not counted). */
  fired: number;
}

export interface ScheduleTicker {
  /** Runs a pass now, then one every `passIntervalMs`. */
  start(): void;
  tickOnce(now?: Date): Promise<SchedulePass>;
  /** True while it rests (see `idle`). */
  readonly resting: boolean;
  close(): Promise<void>;
}

/**
 * `ticks` (in order) without those that come less than `minIntervalMs` after the tick fired
 * before them, the first counted from `firedBefore`.
 */
function spacedOut(ticks: Date[], firedBefore: Date | undefined, minIntervalMs: number): Date[] {
  const kept: Date[] = [];
  let previous = firedBefore?.getTime();
  for (const tick of ticks) {
    if (previous !== undefined && tick.getTime() - previous < minIntervalMs) continue;
    kept.push(tick);
    previous = tick.getTime();
  }
  return kept;
}

/** Ticks that a pass at `now` fires for one flow: see createScheduleTicker. */
function dueTicks(
  flow: ScheduledFlow,
  now: Date,
  checkedUpTo: Date | undefined,
  missedWindowMs: number,
): Date[] {
  const parsed = triggerSchema.safeParse(flow.trigger);
  if (!parsed.success || parsed.data.type !== 'schedule') return [];
  const schedule = scheduleOf(parsed.data.cron, parsed.data.timezone);
  try {
    if (checkedUpTo === undefined) {
      // previousRuns counts only ticks before its start, and nextRun below only those after
      // `checkedUpTo`: a tick at `now` itself is the newest, or no later pass would fire it.
      const [latest] = schedule.previousRuns(1, new Date(now.getTime() + 1));
      const fresh =
        latest !== undefined &&
        now.getTime() - latest.getTime() <= missedWindowMs &&
        latest.getTime() >= flow.since.getTime();
      return fresh ? [latest] : [];
    }
    const ticks: Date[] = [];
    let next = schedule.nextRun(checkedUpTo);
    // Bounded: a pass that came very late fires at most this many ticks of one flow.
    while (next !== null && next.getTime() <= now.getTime() && ticks.length < 100) {
      if (next.getTime() >= flow.since.getTime()) ticks.push(next);
      next = schedule.nextRun(next);
    }
    return ticks;
  } finally {
    schedule.stop();
  }
}

/**
 * Fires schedule triggers on the APP instance that holds the lease. Each pass reads the enabled
 * schedule flows and inserts one run per due tick; the tick's time is part of the run
 * (`scheduled_at`, unique per flow), so two instances firing the same tick (a lease hand-over,
 * a rolling deploy, a slow leader) make one run, and the loser's insert does nothing.
 *
 * While it keeps the lease, the holder fires every tick since its previous pass. A new holder
 * (after a start, a restart, a hand-over or a pass that failed) fires only each flow's most recent tick, and only
 * when it is at most `missedWindowMs` old: ticks missed while nothing fired are not
 * back-filled. A tick older than the flow's last change (new version, enable) never fires.
 */
export function createScheduleTicker(deps: ScheduleTickerDeps): ScheduleTicker {
  /** Per flow, the time up to which its ticks were fired while this instance held the lease. */
  const checked = new Map<string, Date>();
  /** Per flow, its latest tick fired (or found fired) while this instance held the lease. */
  const lastFired = new Map<string, Date>();
  /** The scheduled flows the last pass read, for the next tick a rest must end before. */
  let knownFlows: ScheduledFlow[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> = Promise.resolve();

  async function fire(flow: ScheduledFlow, scheduledAt: Date): Promise<boolean> {
    const work = await deps.idle?.begin();
    try {
      return await insertAndEnqueue(flow, scheduledAt);
    } finally {
      work?.end();
    }
  }

  async function insertAndEnqueue(flow: ScheduledFlow, scheduledAt: Date): Promise<boolean> {
    const id = randomUUID();
    const created = await insertScheduledRun(deps.db, {
      id,
      flowId: flow.flowId,
      versionId: flow.versionId,
      scheduledAt,
      firedAt: new Date(),
    });
    if (!created) return false;
    // The row is committed (the outbox): a failed enqueue is the reconciler's to repeat.
    await deps.queue.enqueue({ runId: id, replyTo: null }).catch((error: unknown) => {
      deps.logger.warn({ err: error, runId: id }, 'scheduled run left to the reconciler');
    });
    return true;
  }

  /** Forgets where this instance got to: its next pass as leader is a new holder's. */
  function forgetProgress() {
    checked.clear();
    lastFired.clear();
  }

  async function tickOnce(now = new Date()): Promise<SchedulePass> {
    let flows: ScheduledFlow[];
    try {
      if (!(await deps.lease.acquire())) {
        // Another instance fires; should this one lead again, it starts as a new holder.
        forgetProgress();
        return { leader: false, fired: 0 };
      }
      flows = await scheduledFlows(deps.db);
    } catch (error) {
      // The lease or the flows could not be read (Redis or PostgreSQL down): no instance may
      // be firing, and this one may have lost the lease meanwhile. Its next pass is a new
      // holder's, so the ticks of an outage are not back-filled when it ends.
      forgetProgress();
      throw error;
    }
    knownFlows = flows;
    const live = new Set(flows.map((flow) => flow.flowId));
    for (const flowId of checked.keys()) if (!live.has(flowId)) checked.delete(flowId);
    for (const flowId of lastFired.keys()) if (!live.has(flowId)) lastFired.delete(flowId);
    let fired = 0;
    for (const flow of flows) {
      try {
        const due = spacedOut(
          dueTicks(flow, now, checked.get(flow.flowId), deps.missedWindowMs),
          lastFired.get(flow.flowId),
          deps.minIntervalMs ?? 0,
        );
        for (const tick of due) {
          if (await fire(flow, tick)) fired++;
          lastFired.set(flow.flowId, tick);
        }
        checked.set(flow.flowId, now);
      } catch (error) {
        // This flow's ticks are tried again next pass; the unique tick makes that safe.
        deps.logger.warn({ err: error, flowId: flow.flowId }, 'schedule tick failed');
      }
    }
    return { leader: true, fired };
  }

  let running = false;
  let resting = false;
  let stopped = false;
  let wakeTimer: NodeJS.Timeout | undefined;

  /** After a pass on a quiet process: rest until shortly before the next tick, if it is far. */
  async function restIfIdle(): Promise<void> {
    const { idle } = deps;
    if (idle === undefined || !idle.isQuiet()) return;
    const now = Date.now();
    const next = nextScheduleTick(knownFlows ?? (await scheduledFlows(deps.db)), new Date(now));
    const restMs =
      next === null ? Number.POSITIVE_INFINITY : next.getTime() - now - SCHEDULE_WAKE_LEAD_MS;
    if (restMs < deps.passIntervalMs * 4) return;
    clearInterval(timer);
    timer = undefined;
    resting = true;
    // Whoever fires next starts as a new holder: no back-fill across the rest.
    checked.clear();
    knownFlows = undefined;
    await deps.lease.rest?.();
    if (!idle.isQuiet() || stopped) {
      wake();
      return;
    }
    deps.logger.debug({ next }, 'scheduler resting until shortly before the next tick');
    if (Number.isFinite(restMs)) {
      wakeTimer = setTimeout(wake, Math.min(restMs, MAX_TIMER_MS));
      wakeTimer.unref();
    }
  }

  const runPass = () => {
    // A slow pass is not overlapped by the next; the next interval tries again.
    if (running || resting) return;
    running = true;
    knownFlows = undefined;
    pass = tickOnce()
      .then(restIfIdle)
      .catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'schedule pass failed');
      })
      .finally(() => {
        running = false;
      });
  };

  const startPasses = () => {
    runPass();
    timer = setInterval(runPass, deps.passIntervalMs);
    timer.unref();
  };

  function wake() {
    if (!resting || stopped) return;
    clearTimeout(wakeTimer);
    resting = false;
    startPasses();
  }

  deps.idle?.onBegin(() => {
    wake();
    return undefined;
  });

  return {
    start: startPasses,
    tickOnce,
    get resting() {
      return resting;
    },
    async close() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(wakeTimer);
      await pass;
      await deps.lease.release();
    },
  };
}
