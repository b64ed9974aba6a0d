import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueueDriver } from '../../../runtime/parts';
import { createRedisLease, soleLease } from '../../../runtime/reliability/leader-lease';
import { createScheduleTicker } from '../../../runtime/reliability/schedule-ticker';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';
import { startTcpProxy } from '../../support/tcp-proxy';

const logger = pino({ level: 'silent' });
let stack: TestStack;
let queue: Awaited<ReturnType<typeof createQueueDriver>>['queue'];

beforeAll(async () => {
  stack = await startTestStack({ SLUICE_SCHEDULE_MIN_INTERVAL_S: '1' });
  // Enqueues on the stack's queue, so the stack's worker runs what the ticker fires.
  queue = (await createQueueDriver(stack.env, logger, stack.database.handle.db)).queue;
});
afterAll(async () => {
  await queue.close();
  await stack.close();
});

/** Both instances believe they lead: only the database can keep their ticks apart. */
const ticker = (missedWindowMs = 60_000) =>
  createScheduleTicker({
    db: stack.database.handle.db,
    queue,
    lease: soleLease,
    logger,
    passIntervalMs: 500,
    missedWindowMs,
  });

const scheduleFlow = (cron: string, timezone?: string) => ({
  name: 'scheduled',
  trigger: { type: 'schedule', cron, ...(timezone === undefined ? {} : { timezone }) },
  steps: [
    {
      id: 'at',
      type: 'code',
      code: 'export default ({ trigger }) => ({ at: trigger.scheduledAt })',
    },
  ],
});

async function createFlow(definition: unknown) {
  const res = await stack.call('POST', '/v1/flows', definition);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const ticksOf = async (flowId: string) =>
  (
    await querySql<{ scheduled_at: Date }>(
      stack.database.url,
      'select scheduled_at from runs where flow_id = $1 order by scheduled_at',
      [flowId],
    )
  ).map((row) => row.scheduled_at.toISOString());

/** The whole second each test starts at: every time it names is counted from there. */
let base = 0;
beforeEach(() => {
  base = Math.floor(Date.now() / 1000) * 1000;
});
/** The whole second `s` seconds after the test's start, plus `ms`. */
const at = (s: number, ms = 0) => new Date(base + s * 1000 + ms);

describe('the schedule ticker', () => {
  it('makes one run per tick when two instances fire the same ticks', async () => {
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    const [a, b] = [ticker(), ticker()];
    const first = at(2, 100);
    await Promise.all([a.tickOnce(first), b.tickOnce(first)]);
    const later = at(6, 100);
    const passes = await Promise.all([a.tickOnce(later), b.tickOnce(later)]);
    // Ticks 2 (the newest at the first pass), then 3, 4, 5 and 6: five, split between them.
    expect(await ticksOf(flowId)).toEqual([2, 3, 4, 5, 6].map((s) => at(s).toISOString()));
    expect(passes.reduce((sum, pass) => sum + pass.fired, 0)).toBe(4);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('runs the flow with the schedule trigger', async () => {
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    // The first whole second after the flow exists, however long creating it took: an
    // earlier tick never fires (a loaded CI box once took over a second here).
    const tick = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
    await ticker().tickOnce(new Date(tick.getTime() + 50));
    const [row] = await querySql<{ id: string }>(
      stack.database.url,
      'select id from runs where flow_id = $1',
      [flowId],
    );
    await vi.waitFor(
      async () => {
        const run = (await (await stack.call('GET', `/v1/runs/${row?.id}`)).json()) as {
          status: string;
          response: unknown;
        };
        expect(run).toMatchObject({ status: 'succeeded', response: { at: tick.toISOString() } });
      },
      { timeout: 10_000, interval: 20 },
    );
    const [stored] = await querySql<{ trigger: Record<string, string> }>(
      stack.database.url,
      'select trigger from runs where id = $1',
      [row?.id],
    );
    expect(Object.keys(stored?.trigger ?? {}).sort()).toEqual(['firedAt', 'scheduledAt', 'type']);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('fires only the most recent missed tick, and only inside the window', async () => {
    const flowId = await createFlow(scheduleFlow('*/5 * * * * *'));
    // A tick on a multiple of 5 s, at least 10 s away: its earlier ticks were "missed".
    const tick = new Date(Math.ceil((Date.now() + 10_000) / 5000) * 5000);
    const threeSecondsLate = new Date(tick.getTime() + 3000);
    // A new holder whose window (1 s) is shorter than the newest tick's age (3 s): nothing.
    await ticker(1000).tickOnce(threeSecondsLate);
    expect(await ticksOf(flowId)).toEqual([]);
    // A new holder with a 5 s window: the newest tick only, never the earlier ones.
    await ticker(5000).tickOnce(threeSecondsLate);
    expect(await ticksOf(flowId)).toEqual([tick.toISOString()]);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('fires the tick a new holder starts on to the millisecond', async () => {
    const flowId = await createFlow(scheduleFlow('*/2 * * * * *'));
    // A whole even second at least 2 s after the flow exists: its first pass lands on that
    // tick exactly, and the next pass goes on from there.
    const tick = new Date(Math.ceil((Date.now() + 2000) / 2000) * 2000);
    const instance = ticker();
    await instance.tickOnce(tick);
    await instance.tickOnce(new Date(tick.getTime() + 500));
    expect(await ticksOf(flowId)).toEqual([tick.toISOString()]);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('never fires a tick from before the flow existed', async () => {
    const flowId = await createFlow(scheduleFlow('0 0 1 1 *'));
    // 1 January 00:00 is long past and outside the window; a year-wide window changes nothing.
    await ticker(366 * 86_400_000).tickOnce(at(1));
    expect(await ticksOf(flowId)).toEqual([]);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('stops at disable and delete, and takes a new cron at the next tick', async () => {
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    const instance = ticker();
    // Its first tick at least a second after the test's start, so it falls after the flow's
    // creation even when creating it is slow (a loaded CI box): an earlier tick never fires.
    await instance.tickOnce(at(2, 100));
    await stack.call('POST', `/v1/flows/${flowId}/disable`);
    await instance.tickOnce(at(4, 100));
    expect(await ticksOf(flowId)).toHaveLength(1);
    await stack.call('POST', `/v1/flows/${flowId}/enable`);
    // Every 2 s (even seconds) in UTC from now on.
    const put = await stack.call('PUT', `/v1/flows/${flowId}`, scheduleFlow('*/2 * * * * *'));
    expect(put.status).toBe(200);
    await instance.tickOnce(at(9, 100));
    const ticks = await ticksOf(flowId);
    const after = ticks.slice(1).map((iso) => new Date(iso).getUTCSeconds());
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((second) => second % 2 === 0)).toBe(true);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
    const count = (await ticksOf(flowId)).length;
    await instance.tickOnce(at(13, 100));
    expect(await ticksOf(flowId)).toHaveLength(count);
  });

  it('skips a tick that comes less than the minimum interval after the one fired before it', async () => {
    // Every second, as the API allows here (1 s); this ticker holds the floor at 3 s, as a
    // daylight-saving change or a month's end can bring two ticks of a sparser cron closer.
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    const instance = createScheduleTicker({
      db: stack.database.handle.db,
      queue,
      lease: soleLease,
      logger,
      passIntervalMs: 500,
      missedWindowMs: 60_000,
      minIntervalMs: 3000,
    });
    // Seconds counted from the first whole one after the flow exists, however slow creating it was.
    const first = Math.floor(Date.now() / 1000) * 1000 + 1000;
    const sinceFirst = (s: number, ms = 0) => new Date(first + s * 1000 + ms);
    await instance.tickOnce(sinceFirst(0, 100));
    await instance.tickOnce(sinceFirst(3, 600));
    await instance.tickOnce(sinceFirst(9, 100));
    const fired = (await ticksOf(flowId)).map((iso) => new Date(iso).getTime());
    // The first, then 3, 6 and 9 s after it: each at least 3 s after the one before.
    expect(fired).toEqual([0, 3, 6, 9].map((s) => sinceFirst(s).getTime()));
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });

  it('fires only the newest tick after an outage its lease holder sat through, not the backlog', async () => {
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    // The holder's Redis, behind a proxy that can play an outage.
    const proxy = await startTcpProxy(6379);
    const redis = new Redis({
      port: proxy.port,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 20,
    });
    redis.on('error', () => undefined);
    try {
      const holder = createScheduleTicker({
        db: stack.database.handle.db,
        queue,
        lease: createRedisLease(redis, `scheduler-test:${randomUUID()}`, 'holder', 5000),
        logger,
        passIntervalMs: 500,
        missedWindowMs: 60_000,
      });
      await vi.waitFor(() => expect(redis.status).toBe('ready'));
      expect(await holder.tickOnce(at(2, 100))).toEqual({ leader: true, fired: 1 });
      // Redis goes away: the passes of the next five minutes cannot take the lease.
      proxy.refuse(true);
      await expect(holder.tickOnce(at(3, 100))).rejects.toThrow();
      proxy.refuse(false);
      await vi.waitFor(() => expect(redis.status).toBe('ready'), { timeout: 5000 });
      // Back five minutes later: the newest tick only, as for any tick missed while none fired.
      expect(await holder.tickOnce(at(302, 100))).toEqual({ leader: true, fired: 1 });
      expect(await ticksOf(flowId)).toEqual([at(2).toISOString(), at(302).toISOString()]);
    } finally {
      redis.disconnect();
      await proxy.close();
      await stack.call('DELETE', `/v1/flows/${flowId}`);
    }
  });

  it('does nothing while another instance holds the lease', async () => {
    const flowId = await createFlow(scheduleFlow('* * * * * *'));
    const follower = createScheduleTicker({
      db: stack.database.handle.db,
      queue,
      lease: { acquire: async () => false, release: async () => {} },
      logger,
      passIntervalMs: 500,
      missedWindowMs: 60_000,
    });
    expect(await follower.tickOnce(at(2, 100))).toEqual({ leader: false, fired: 0 });
    expect(await ticksOf(flowId)).toEqual([]);
    await stack.call('DELETE', `/v1/flows/${flowId}`);
  });
});

describe('schedule triggers in flow definitions', () => {
  type ErrorBody = { error: { code: string; message: string } };
  it.each([
    [{ type: 'schedule', cron: '61 * * * *' }, 'trigger.cron'],
    [{ type: 'schedule', cron: '* * *' }, 'trigger.cron'],
    [{ type: 'schedule', cron: '* * * * * * *' }, 'trigger.cron'],
    [{ type: 'schedule', cron: 42 }, 'trigger.cron'],
    [{ type: 'schedule' }, 'trigger.cron'],
    [{ type: 'schedule', cron: '*/5 * * * *', timezone: 'Mars/Olympus' }, 'trigger.timezone'],
    [{ type: 'schedule', cron: '*/5 * * * *', every: 5 }, 'trigger'],
    [{ type: 'cron', cron: '*/5 * * * *' }, 'trigger.type'],
  ])('answers 400 for %o naming %s', async (trigger, field) => {
    const res = await stack.call('POST', '/v1/flows', { ...scheduleFlow('* * * * *'), trigger });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.message).toContain(`${field}`);
  });

  it.each([
    ['0 0 32 * *', 'day of month must be from 1 to 31 (got 32)'],
    ['0 0 0 * *', 'day of month must be from 1 to 31 (got 0)'],
    ['0 0 * 13 *', 'month must be from 1 to 12 (got 13)'],
    ['0 0 * 0 *', 'month must be from 1 to 12 (got 0)'],
    ['61 * * * *', 'minute must be from 0 to 59 (got 61)'],
    ['0 25 * * *', 'hour must be from 0 to 23 (got 25)'],
    ['0 0 * * 8', 'day of week must be from 0 to 7 (got 8)'],
  ])('names the field and the value as written for %s', async (cron, problem) => {
    const res = await stack.call('POST', '/v1/flows', scheduleFlow(cron));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toBe(
      `invalid flow definition: trigger.cron: cron is not valid: ${problem}`,
    );
  });

  it('refuses a schedule more often than SLUICE_SCHEDULE_MIN_INTERVAL_S', async () => {
    const strict = await startTestStack({}, { worker: false });
    try {
      const res = await strict.call('POST', '/v1/flows', scheduleFlow('*/5 * * * * *'));
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.message).toBe(
        'invalid flow definition: trigger.cron: cron fires every 5 s, more often than SLUICE_SCHEDULE_MIN_INTERVAL_S allows (10 s)',
      );
      const ok = await strict.call('POST', '/v1/flows', scheduleFlow('*/10 * * * * *'));
      expect(ok.status).toBe(201);
    } finally {
      await strict.close();
    }
  });

  it('accepts 5 and 6 fields and keeps the timezone, UTC by default', async () => {
    const five = await createFlow(scheduleFlow('*/5 * * * *', 'Europe/Berlin'));
    const six = await createFlow(scheduleFlow('30 */5 * * * *'));
    const read = async (id: string) =>
      (
        (await (await stack.call('GET', `/v1/flows/${id}`)).json()) as {
          definition: { trigger: unknown };
        }
      ).definition.trigger;
    expect(await read(five)).toEqual({
      type: 'schedule',
      cron: '*/5 * * * *',
      timezone: 'Europe/Berlin',
    });
    expect(await read(six)).toEqual({ type: 'schedule', cron: '30 */5 * * * *', timezone: 'UTC' });
  });
});
