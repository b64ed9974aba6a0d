import type { ScheduledFlow } from '../db/schedule-store';
import { scheduleOf, triggerSchema } from '../engine/trigger-schema';

/**
 * The earliest tick after `now` among `flows`, or null when none will ever fire: how long a
 * resting scheduler may sleep. A flow's tick before its last change never fires, so the
 * search starts at whichever is later.
 */
export function nextScheduleTick(flows: readonly ScheduledFlow[], now: Date): Date | null {
  let earliest: Date | null = null;
  for (const flow of flows) {
    const parsed = triggerSchema.safeParse(flow.trigger);
    if (!parsed.success || parsed.data.type !== 'schedule') continue;
    const schedule = scheduleOf(parsed.data.cron, parsed.data.timezone);
    try {
      const from = flow.since.getTime() > now.getTime() ? new Date(flow.since.getTime() - 1) : now;
      const next = schedule.nextRun(from);
      if (next !== null && (earliest === null || next.getTime() < earliest.getTime())) {
        earliest = next;
      }
    } finally {
      schedule.stop();
    }
  }
  return earliest;
}
