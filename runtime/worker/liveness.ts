/**
 * Whether this worker can still make progress, for its container health check: ECS replaces a
 * task whose check fails. The ways a worker wedges without exiting:
 * - its event loop stops turning (host code that never yields): a heartbeat timer goes stale,
 *   and the liveness endpoint itself cannot answer, which the probe counts as unhealthy too;
 * - a code step holds the isolate past every bound the sandbox sets (its time cap, then the
 *   disposal confirmation): the sandbox should have ended it, so something below it is stuck;
 * - the isolate is free but does not run a trivial step in time: every flow's code steps
 *   would time out on this worker.
 */
export type LivenessVerdict =
  | { healthy: true }
  | {
      healthy: false;
      reason: 'event_loop_stalled' | 'isolate_stuck' | 'isolate_unresponsive';
      forMs: number;
    };

/** A loop that has not turned for this long is wedged; GC pauses and sync isolate calls are far shorter. */
export const LOOP_STALL_MS = 10_000;
/**
 * How long past its time cap a code step may hold the isolate: the sandbox's disposal
 * confirmation (DISPOSAL_CONFIRM_MS, 10 s), after which it ends the worker itself, plus 5 s.
 */
export const ISOLATE_GRACE_MS = 15_000;
/** The trivial step's time cap; the probe gives the whole answer 2 s. */
export const ISOLATE_ANSWER_MS = 1000;

export interface LivenessOptions {
  /** No heartbeat for this long means the loop is wedged. */
  loopStallMs: number;
  /** A code step holding the isolate this long is stuck past its caps and the grace after. */
  isolateStuckMs: number;
  /** How long the running code step has held the isolate (0 when free). */
  isolateBusyForMs: () => number;
  /**
   * Runs a trivial code step within `timeoutMs`; true when it answered.
   * @default - no such check (before the worker has started)
   */
  isolateAnswers?: (timeoutMs: number) => Promise<boolean>;
  /** @default 1000 */
  heartbeatMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface Liveness {
  verdict(): Promise<LivenessVerdict>;
  stop(): void;
}

export function watchLiveness({
  loopStallMs,
  isolateStuckMs,
  isolateBusyForMs,
  isolateAnswers,
  heartbeatMs = 1000,
  now = Date.now,
}: LivenessOptions): Liveness {
  let lastBeat = now();
  const heartbeat = setInterval(() => {
    lastBeat = now();
  }, heartbeatMs);
  heartbeat.unref();
  return {
    async verdict() {
      const stalledMs = now() - lastBeat;
      if (stalledMs > loopStallMs) {
        return { healthy: false, reason: 'event_loop_stalled', forMs: stalledMs };
      }
      const busyMs = isolateBusyForMs();
      if (busyMs > isolateStuckMs)
        return { healthy: false, reason: 'isolate_stuck', forMs: busyMs };
      // A step running now is the isolate answering; only a free isolate is asked.
      if (busyMs > 0 || isolateAnswers === undefined) return { healthy: true };
      const askedAt = now();
      // A check that throws (an isolate that cannot be created) is an isolate that does not
      // answer; a rejected verdict would leave the probe unanswered and the rejection unhandled.
      const answered = await isolateAnswers(ISOLATE_ANSWER_MS).catch(() => false);
      if (answered) return { healthy: true };
      // A flow's step may have taken the isolate first, and the check waited its turn in vain.
      if (isolateBusyForMs() > 0) return { healthy: true };
      return { healthy: false, reason: 'isolate_unresponsive', forMs: now() - askedAt };
    },
    stop: () => clearInterval(heartbeat),
  };
}
