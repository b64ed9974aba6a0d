import { Cron } from 'croner';
import { z } from 'zod';

/** Whether `timezone` is an IANA zone this runtime knows ('UTC' included). */
function isTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** A croner schedule for `cron` in `timezone`; it never fires on its own (no callback). */
export const scheduleOf = (cron: string, timezone: string) =>
  new Cron(cron, { timezone, mode: '5-or-6-parts' });

/** Why croner refuses the expression, or null. Five fields, or six with seconds first. */
function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `cron must have 5 fields, or 6 with seconds first (got ${fields})`;
  }
  try {
    const schedule = scheduleOf(cron, 'UTC');
    const ok = schedule.nextRun() !== null;
    schedule.stop();
    return ok ? null : 'cron never fires';
  } catch (error) {
    return `cron is not valid: ${describeCronError((error as Error).message)}`;
  }
}

/**
 * The cron fields croner names, their range as written, and what croner subtracts from a
 * value before it reports one: it counts days of the month and months from 0.
 */
const CRON_FIELDS: Record<string, { name: string; range: string; offset: number }> = {
  second: { name: 'second', range: '0 to 59', offset: 0 },
  minute: { name: 'minute', range: '0 to 59', offset: 0 },
  hour: { name: 'hour', range: '0 to 23', offset: 0 },
  day: { name: 'day of month', range: '1 to 31', offset: 1 },
  month: { name: 'month', range: '1 to 12', offset: 1 },
  dayOfWeek: { name: 'day of week', range: '0 to 7', offset: 0 },
};

/** croner's message, with a value out of range named as the cron wrote it. */
function describeCronError(message: string): string {
  const text = message.replace(/^CronPattern: /, '');
  const outOfRange = /^Invalid value for (\w+): (-?\d+)$/.exec(text);
  const field = outOfRange === null ? undefined : CRON_FIELDS[outOfRange[1] ?? ''];
  if (outOfRange === null || field === undefined) return text;
  return `${field.name} must be from ${field.range} (got ${Number(outOfRange[2]) + field.offset})`;
}

const scheduleTriggerSchema = z
  .strictObject({
    type: z.literal('schedule'),
    cron: z.string().max(200),
    timezone: z.string().max(100).default('UTC'),
  })
  .superRefine((trigger, ctx) => {
    const problem = cronProblem(trigger.cron);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
    if (!isTimezone(trigger.timezone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `timezone must be an IANA time zone such as Europe/Berlin (got "${trigger.timezone}")`,
      });
    }
  });

/** `webhook`, or `schedule` with a cron (5 fields, or 6 with seconds) and an IANA timezone. */
export const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook') }),
  scheduleTriggerSchema,
]);

export type ScheduleTrigger = z.infer<typeof scheduleTriggerSchema>;

/**
 * The shortest gap between the next `sample` ticks of a schedule, in ms: the floor check. A
 * cron's gaps repeat within a day for most expressions; 50 ticks catch `* * * * * *` and
 * `0,1 * * * *` alike.
 */
export function shortestIntervalMs(trigger: ScheduleTrigger, sample = 50): number {
  const schedule = scheduleOf(trigger.cron, trigger.timezone);
  const ticks = schedule.nextRuns(sample);
  schedule.stop();
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < ticks.length; i++) {
    shortest = Math.min(shortest, (ticks[i]?.getTime() ?? 0) - (ticks[i - 1]?.getTime() ?? 0));
  }
  return shortest;
}
