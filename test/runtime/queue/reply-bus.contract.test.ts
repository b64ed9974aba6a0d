import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endedAmong } from '../../../runtime/db/run-store';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createPgReplyBus } from '../../../runtime/queue/pg-reply-bus';
import { createRedisReplyBus } from '../../../runtime/queue/redis-reply-bus';
import type { ReplyBus, RunReply } from '../../../runtime/queue/reply-bus';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { replyFlowIn } from '../../support/queued-runs';
import { querySql } from '../../support/sql';
import { startTcpProxy } from '../../support/tcp-proxy';
import { startThrowawayRedis } from '../../support/throwaway-redis';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** Each reply bus: a listening APP instance and a publishing worker. */
const buses = {
  redis: async (instanceId: string, subscribe: boolean) =>
    createRedisReplyBus({ url: 'redis://127.0.0.1:6379' }, instanceId, { subscribe }),
  postgres: async (instanceId: string, subscribe: boolean) =>
    createPgReplyBus(
      database.handle.db,
      instanceId,
      subscribe
        ? (options) => createSessionConnection({ access: { url: database.url }, ...options })
        : null,
    ),
};

const reply = (runId: string, body: unknown = { ok: true }): RunReply => ({
  runId,
  status: 'succeeded',
  responseStatus: 200,
  body,
});

describe.each(Object.entries(buses))('the %s reply bus', (kind, open) => {
  const opened: ReplyBus[] = [];
  const bus = async (instanceId: string, subscribe: boolean) => {
    const made = await open(instanceId, subscribe);
    opened.push(made);
    return made;
  };
  afterEach(async () => {
    for (const made of opened.splice(0)) await made.close();
  });

  it('delivers a reply to the instance waiting for its run, and to no other', async () => {
    const app = await bus(`app-${crypto.randomUUID()}`, true);
    const other = await bus(`app-${crypto.randomUUID()}`, true);
    const worker = await bus(`worker-${crypto.randomUUID()}`, false);
    const waited = app.waitFor('run-1', 5000);
    const elsewhere = other.waitFor('run-1', 300);
    await worker.publish(app.channel, reply('run-1'));
    expect(await waited.reply).toEqual(reply('run-1'));
    expect(await elsewhere.reply).toBeNull();
  });

  it('ends every pending wait at once with no reply on endWaits, and still serves new ones', async () => {
    const app = await bus(`app-${crypto.randomUUID()}`, true);
    const worker = await bus(`worker-${crypto.randomUUID()}`, false);
    const started = Date.now();
    const waits = [app.waitFor('run-a', 30_000), app.waitFor('run-b', 30_000)];
    app.endWaits();
    expect(await Promise.all(waits.map((wait) => wait.reply))).toEqual([null, null]);
    expect(Date.now() - started).toBeLessThan(5000);
    const later = app.waitFor('run-c', 5000);
    await worker.publish(app.channel, reply('run-c'));
    expect(await later.reply).toEqual(reply('run-c'));
  });

  it('delivers a reply larger than one NOTIFY carries, exactly as sent', async () => {
    const app = await bus(`app-${crypto.randomUUID()}`, true);
    const worker = await bus(`worker-${crypto.randomUUID()}`, false);
    // Characters of 1 to 4 UTF-8 bytes, quotes and a NUL, with pairs falling on every cut.
    const body = { text: 'a"é😀\u0000'.repeat(20_000), n: [1, 2, 3] };
    const big = { ...reply('run-big', body), headers: { 'x-big': 'yes' } };
    const waited = app.waitFor('run-big', 5000);
    const other = app.waitFor('run-other', 5000);
    await worker.publish(app.channel, big);
    await worker.publish(app.channel, reply('run-other'));
    expect(await waited.reply).toEqual(big);
    expect(await other.reply).toEqual(reply('run-other'));
  });

  it.runIf(kind === 'postgres')(
    'ends the wait promptly for a reply too large even in parts, to read the run row',
    async () => {
      const app = await bus(`app-${crypto.randomUUID()}`, true);
      const worker = await bus(`worker-${crypto.randomUUID()}`, false);
      const started = Date.now();
      const waited = app.waitFor('run-huge', 10_000);
      await worker.publish(app.channel, reply('run-huge', '"'.repeat(6_000_000)));
      expect(await waited.reply).toBeNull();
      expect(Date.now() - started).toBeLessThan(5000);
    },
  );

  it.runIf(kind === 'postgres')(
    'wakes the waiter from the notice a statement sends, as from a publish',
    async () => {
      const app = await bus(`app-${crypto.randomUUID()}`, true);
      const worker = await bus(`worker-${crypto.randomUUID()}`, false);
      // What the run's finishing statement does with the notice (outcome-notify.test.ts).
      const send = async (runId: string, body: unknown) => {
        const notice = worker.notice?.(app.channel, reply(runId, body));
        expect(notice?.channel).toBe(app.channel);
        await querySql(database.url, 'select pg_notify($1, $2)', [
          notice?.channel,
          notice?.payload,
        ]);
      };
      const small = app.waitFor('run-small', 5000);
      await send('run-small', { ok: true });
      expect(await small.reply).toEqual(reply('run-small'));
      // Too large for one NOTIFY: it has no notice, and is published after the record.
      expect(worker.notice?.(app.channel, reply('run-big', 'z'.repeat(20_000)))).toBeUndefined();
    },
  );

  it.runIf(kind === 'redis')('has no notice: its replies are published', async () => {
    const worker = await bus(`worker-${crypto.randomUUID()}`, false);
    expect(worker.notice).toBeUndefined();
  });

  it.runIf(kind === 'postgres')('listens again after its session is cut', async () => {
    const app = await bus('app-relisten', true);
    const worker = await bus('worker-relisten', false);
    await querySql(
      database.url,
      // This database's only: test files run side by side, each on its own database.
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'sluice-replies'`,
    );
    const deadline = Date.now() + 8000;
    for (;;) {
      const waited = app.waitFor('run-after', 300);
      await worker.publish(app.channel, reply('run-after'));
      if ((await waited.reply) !== null) break;
      if (Date.now() > deadline) throw new Error('the bus did not listen again within 8 s');
    }
  });
});

describe('the postgres reply bus after its LISTEN session was lost', () => {
  const listeners = async () =>
    (
      await querySql<{ n: number }>(
        database.url,
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name = 'sluice-replies'`,
      )
    )[0]?.n ?? 0;

  it('ends at once the wait of a run that ended while it was not listening', async () => {
    const flow = await replyFlowIn(database.handle.db);
    const ended = await flow.queueRun();
    const stillRunning = await flow.queueRun();
    // The session's queries wait while `down` holds, so the bus cannot listen again until the
    // run has ended and its reply has gone to nobody.
    let down: Promise<void> = Promise.resolve();
    let up = () => {};
    const app = await createPgReplyBus(database.handle.db, `app-${randomUUID()}`, (options) => {
      const session = createSessionConnection({ access: { url: database.url }, ...options });
      return {
        query: async (text, values) => {
          await down;
          return session.query(text, values);
        },
        get generation() {
          return session.generation;
        },
        rest: () => session.rest(),
        close: () => session.close(),
      };
    });
    const worker = await createPgReplyBus(database.handle.db, `worker-${randomUUID()}`, null);
    try {
      const started = Date.now();
      const waited = app.waitFor(ended, 20_000);
      const waitedLonger = app.waitFor(stillRunning, 20_000);
      down = new Promise((resolve) => {
        up = resolve;
      });
      await querySql(
        database.url,
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and application_name = 'sluice-replies'`,
      );
      // Gone for sure: a backend still exiting would deliver the reply after all.
      while ((await listeners()) > 0) await new Promise((done) => setTimeout(done, 20));
      await querySql(database.url, "update runs set status = 'succeeded' where id = $1", [ended]);
      await worker.publish(app.channel, reply(ended));
      up();
      // The waiter reads the run row (the webhook route does) rather than wait out 20 s.
      expect(await waited.reply).toBeNull();
      expect(Date.now() - started).toBeLessThan(8000);
      // A run still going keeps its wait, and gets its reply when it ends.
      const later = Promise.race([
        waitedLonger.reply,
        new Promise((done) => setTimeout(() => done('still waiting'), 300)),
      ]);
      expect(await later).toBe('still waiting');
      await worker.publish(app.channel, reply(stillRunning));
      expect(await waitedLonger.reply).toEqual(reply(stillRunning));
    } finally {
      up();
      await app.close();
      await worker.close();
    }
  });
});

describe('the redis reply bus', () => {
  it('opens its publishing connection at the first publish, not before', async () => {
    const redis = await startThrowawayRedis();
    const admin = new Redis(redis.url);
    // Clients other than `admin`, as Redis counts them.
    const clients = async () =>
      Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]) - 1;
    const app = await createRedisReplyBus({ url: redis.url }, 'app-lazy', { subscribe: true });
    const worker = await createRedisReplyBus({ url: redis.url }, 'worker-lazy', {
      subscribe: false,
    });
    try {
      // The APP's subscriber only; the worker has opened nothing yet.
      expect(await clients()).toBe(1);
      const waited = app.waitFor('run-lazy', 5000);
      await worker.publish(app.channel, reply('run-lazy'));
      expect(await waited.reply).toEqual(reply('run-lazy'));
      expect(await clients()).toBe(2);
    } finally {
      await app.close();
      await worker.close();
      admin.disconnect();
      await redis.stop();
    }
  });

  it('ends at once, once subscribed again, the wait of a run that ended while it was cut off', async () => {
    const flow = await replyFlowIn(database.handle.db);
    const ended = await flow.queueRun();
    const stillRunning = await flow.queueRun();
    const proxy = await startTcpProxy(6379);
    const app = await createRedisReplyBus(
      { url: `redis://127.0.0.1:${proxy.port}` },
      `app-${randomUUID()}`,
      { subscribe: true, endedAmong: (runIds) => endedAmong(database.handle.db, runIds) },
    );
    const worker = await createRedisReplyBus({ url: 'redis://127.0.0.1:6379' }, 'worker-cut', {
      subscribe: false,
    });
    try {
      const started = Date.now();
      const waited = app.waitFor(ended, 20_000);
      const waitedLonger = app.waitFor(stillRunning, 20_000);
      proxy.refuse(true);
      // The run ends and its reply is published while the APP's subscriber is cut off.
      await querySql(database.url, "update runs set status = 'succeeded' where id = $1", [ended]);
      await worker.publish(app.channel, reply(ended));
      proxy.refuse(false);
      // The waiter reads the run row (the webhook route does) rather than wait out 20 s.
      expect(await waited.reply).toBeNull();
      expect(Date.now() - started).toBeLessThan(8000);
      // A run still going keeps its wait, and gets its reply when it ends.
      const later = Promise.race([
        waitedLonger.reply,
        new Promise((done) => setTimeout(() => done('still waiting'), 300)),
      ]);
      expect(await later).toBe('still waiting');
      await worker.publish(app.channel, reply(stillRunning));
      expect(await waitedLonger.reply).toEqual(reply(stillRunning));
    } finally {
      await app.close();
      await worker.close();
      await proxy.close();
    }
  });

  it('closes cleanly while it is subscribing again after a reconnect', async () => {
    // ioredis before 6.1.0 left that SUBSCRIBE's rejection unhandled, which ends the process.
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    const proxy = await startTcpProxy(6379);
    try {
      const app = await createRedisReplyBus({ url: `redis://127.0.0.1:${proxy.port}` }, 'app-cut', {
        subscribe: true,
      });
      const resubscribing = proxy.withholdAnswersAfter('subscribe');
      proxy.cut();
      await resubscribing;
      await app.close();
      // The rejection, if unhandled, is reported after the microtasks of the close have run.
      await new Promise((done) => setTimeout(done, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      await proxy.close();
    }
  });
});
