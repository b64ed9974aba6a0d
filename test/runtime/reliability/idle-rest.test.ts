import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import type { ScheduledFlow } from '../../../runtime/db/schedule-store';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createInProcessDriver } from '../../../runtime/queue/in-process-driver';
import { createIdleWatch, type IdleWatch } from '../../../runtime/reliability/idle-watch';
import type { LeaderLease } from '../../../runtime/reliability/leader-lease';
import { nextScheduleTick } from '../../../runtime/reliability/next-schedule-tick';
import { createPgLease } from '../../../runtime/reliability/pg-lease';
import { createRunReconciler } from '../../../runtime/reliability/run-reconciler';
import { createScheduleTicker } from '../../../runtime/reliability/schedule-ticker';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { codeFlow } from '../../support/flows';
import { querySql } from '../../support/sql';

const logger = pino({ level: 'silent' });
let database: TestDatabase;
let projectId: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'idle',
    apiKey: generateApiKey(),
  }));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await database.drop();
});

const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 25));
  }
};
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A lease on a session of its own named `name`, resting as parts.ts builds it for sqs. */
function sessionLease(name: string): LeaderLease {
  const session = createSessionConnection({
    access: { url: database.url },
    applicationName: name,
  });
  const lease = createPgLease(session, name);
  closers.push(() => session.close());
  return {
    acquire: lease.acquire,
    release: lease.release,
    async rest() {
      await lease.release();
      await session.rest();
    },
  };
}

const sessionsNamed = async (name: string) =>
  (
    await querySql<{ n: number }>(
      database.url,
      'select count(*)::int as n from pg_stat_activity where application_name = $1',
      [name],
    )
  )[0]?.n ?? 0;

const quietWatch = (quietMs = 150): IdleWatch => createIdleWatch({ quietMs, logger });

describe('createIdleWatch', () => {
  it('is quiet only with no work in flight and none for quietMs, and waits for the parts work needs', async () => {
    let now = 0;
    const idle = createIdleWatch({ quietMs: 1000, logger, now: () => now });
    now = 1000;
    expect(idle.isQuiet()).toBe(true);
    let listening = false;
    idle.onBegin(() => {
      if (listening) return undefined;
      return pause(50).then(() => {
        listening = true;
      });
    });
    idle.onBegin(() => Promise.reject(new Error('cannot wake')));
    const work = await idle.begin();
    // The waking part was ready before begin() resolved; the failing one did not stop the work.
    expect(listening).toBe(true);
    now = 5000;
    expect(idle.isQuiet()).toBe(false);
    work.end();
    work.end();
    expect(idle.isQuiet()).toBe(false);
    now = 5999;
    expect(idle.isQuiet()).toBe(false);
    now = 6000;
    expect(idle.isQuiet()).toBe(true);
  });
});

describe('the reconciler with an idle watch', () => {
  it('rests with its session closed when nothing is unfinished, stays awake while a run is queued, and rests again after', async () => {
    const idle = quietWatch();
    const driver = createInProcessDriver(() => undefined);
    closers.push(() => driver.queue.close());
    const name = `reconciler-rest-${randomUUID().slice(0, 8)}`;
    const reconciler = createRunReconciler({
      db: database.handle.db,
      queue: driver.queue,
      lease: sessionLease(name),
      logger,
      intervalMs: 50,
      afterS: 3600,
      maxAttempts: 2,
      idle,
    });
    closers.push(() => reconciler.close());
    reconciler.start();
    await until(() => reconciler.resting);
    expect(await sessionsNamed(name)).toBe(0);

    const flow = await createFlow(database.handle.db, {
      projectId,
      name: 'noop',
      definition: codeFlow('export default () => 1'),
      webhookSecret: null,
    });
    const runId = randomUUID();
    await insertQueuedRun(database.handle.db, {
      id: runId,
      projectId,
      flowId: flow.id,
      flowVersionId: flow.versionId,
      trigger: {},
    });
    (await idle.begin()).end();
    await until(async () => !reconciler.resting && (await sessionsNamed(name)) === 1);
    // Well past the quiet period, the queued run keeps it awake and leading.
    await pause(600);
    expect(idle.isQuiet()).toBe(true);
    expect(reconciler.resting).toBe(false);
    expect(await sessionsNamed(name)).toBe(1);

    await querySql(database.url, "update runs set status = 'succeeded' where id = $1", [runId]);
    await until(() => reconciler.resting);
    expect(await sessionsNamed(name)).toBe(0);
  });
});

describe('the scheduler with an idle watch', () => {
  const ticker = (idle: IdleWatch, name: string) => {
    const driver = createInProcessDriver(() => undefined);
    closers.push(() => driver.queue.close());
    const scheduler = createScheduleTicker({
      db: database.handle.db,
      queue: driver.queue,
      lease: sessionLease(name),
      logger,
      passIntervalMs: 50,
      missedWindowMs: 60_000,
      idle,
    });
    closers.push(() => scheduler.close());
    return scheduler;
  };

  it('with no scheduled flow, rests until work wakes it', async () => {
    const idle = quietWatch();
    const name = `scheduler-rest-${randomUUID().slice(0, 8)}`;
    const scheduler = ticker(idle, name);
    scheduler.start();
    await until(() => scheduler.resting);
    expect(await sessionsNamed(name)).toBe(0);
    (await idle.begin()).end();
    await until(async () => !scheduler.resting && (await sessionsNamed(name)) === 1);
    await until(() => scheduler.resting);
  });

  it('does not rest while a tick is due within the wake lead', async () => {
    // Once a minute, about 20 s from now: within the 30 s wake lead, and not due while the
    // test looks (a tick fired then would be work, and the watch not quiet).
    const second = (new Date().getUTCSeconds() + 20) % 60;
    const flow = await createFlow(database.handle.db, {
      projectId,
      name: 'soon',
      definition: {
        ...codeFlow('export default () => 1', 'soon'),
        trigger: { type: 'schedule', cron: `${second} * * * * *`, timezone: 'UTC' },
      },
      webhookSecret: null,
    });
    closers.push(() =>
      querySql(database.url, "update flows set status = 'disabled' where id = $1", [flow.id]),
    );
    const idle = quietWatch();
    const scheduler = ticker(idle, `scheduler-awake-${randomUUID().slice(0, 8)}`);
    scheduler.start();
    await pause(800);
    expect(idle.isQuiet()).toBe(true);
    expect(scheduler.resting).toBe(false);
  });
});

describe('nextScheduleTick', () => {
  const flow = (cron: string, since: Date, trigger?: unknown): ScheduledFlow => ({
    flowId: randomUUID(),
    versionId: randomUUID(),
    trigger: trigger ?? { type: 'schedule', cron, timezone: 'UTC' },
    since,
  });
  const now = new Date('2026-01-01T10:00:30Z');

  it('is the earliest tick after now, never one before a flow last changed', () => {
    expect(
      nextScheduleTick(
        [
          flow('0 * * * *', new Date(0)),
          flow('*/5 * * * *', new Date(0)),
          flow('not a trigger', new Date(0), { type: 'webhook' }),
        ],
        now,
      )?.toISOString(),
    ).toBe('2026-01-01T10:05:00.000Z');
    // A flow changed in the future (clock skew between APPs) fires from then on.
    expect(
      nextScheduleTick([flow('*/5 * * * *', new Date('2026-01-01T10:07:00Z'))], now)?.toISOString(),
    ).toBe('2026-01-01T10:10:00.000Z');
    expect(nextScheduleTick([], now)).toBeNull();
  });
});
