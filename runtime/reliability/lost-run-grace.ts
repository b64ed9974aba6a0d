import type { OverdueRun } from '../db/run-recovery-store';

/**
 * Tells a lost worker from a live one whose run is briefly without a live job. With SQS a
 * running run is live while its worker's session holds it, and a live worker whose session was
 * replaced has no hold until it takes it back (see LOST_HOLD_GRACE_MS). So a run counts as lost
 * only once passes spanning more than `graceMs` have all seen it without a live job, at the
 * same attempt. What was seen lives in this instance only: a new leader starts from nothing,
 * and so waits the grace too, never less.
 */
export interface LostRunGrace {
  /**
   * Of the running runs a pass found without a live job, those that have stayed so for longer
   * than the grace. The others are remembered; a run missing from `withoutLiveJob` (live again,
   * ended, or moved on) is forgotten, so the list must be the whole pass's.
   */
  lost(withoutLiveJob: readonly OverdueRun[]): OverdueRun[];
  /** Forgets everything seen, when this instance stops passing (the lease went elsewhere). */
  forget(): void;
}

export function createLostRunGrace(graceMs: number, now: () => number): LostRunGrace {
  /** When a pass first saw each run without a live job, at the attempt it then had. */
  let firstSeen = new Map<string, { attempt: number; at: number }>();
  return {
    lost(withoutLiveJob) {
      if (graceMs <= 0) return [...withoutLiveJob];
      const at = now();
      const stillWaiting = new Map<string, { attempt: number; at: number }>();
      const lost: OverdueRun[] = [];
      for (const run of withoutLiveJob) {
        const seen = firstSeen.get(run.id);
        const since = seen?.attempt === run.attempt ? seen.at : at;
        if (at - since > graceMs) lost.push(run);
        else stillWaiting.set(run.id, { attempt: run.attempt, at: since });
      }
      firstSeen = stillWaiting;
      return lost;
    },
    forget() {
      firstSeen.clear();
    },
  };
}
