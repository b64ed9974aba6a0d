/**
 * Bounds the reconciler's re-sends on a queue that cannot say whether a message exists (SQS).
 * A queued run is re-sent at most once per `everyMs`, and at most `perCall` runs per call, so
 * a large backlog that is merely waiting does not re-send itself every pass.
 */
export function createResendLimiter({ everyMs, perCall }: { everyMs: number; perCall: number }) {
  const lastSent = new Map<string, number>();
  return {
    /** The ids to leave alone for now: re-sent recently, or past this call's budget. */
    deferred(runIds: readonly string[], now = Date.now()): Set<string> {
      for (const [runId, at] of lastSent) if (now - at >= everyMs) lastSent.delete(runId);
      const deferred = new Set<string>();
      let budget = perCall;
      for (const runId of runIds) {
        if (lastSent.has(runId) || budget <= 0) deferred.add(runId);
        else budget--;
      }
      return deferred;
    },
    sent(runId: string, now = Date.now()) {
      lastSent.set(runId, now);
    },
  };
}
