import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addFlowVersion, createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import { runs } from '../../../runtime/db/schema';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createFlowRunner } from '../../../runtime/engine';
import { createPgReplyBus } from '../../../runtime/queue/pg-reply-bus';
import { createRedisReplyBus } from '../../../runtime/queue/redis-reply-bus';
import type { ReplyBus } from '../../../runtime/queue/reply-bus';
import { preciseNow, type RunProcessor } from '../../../runtime/queue/run-queue';
import { UnknownRunError } from '../../../runtime/queue/unknown-run-error';
import { createLocalFileStore } from '../../../runtime/storage';
import { createRunProcessor } from '../../../runtime/worker/process-run';
import { createRunLogWriter } from '../../../runtime/worker/run-log-writer';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { type HttpStub, startHttpStub } from '../../support/http-stub';
import { testSecretStore } from '../../support/secrets';

let database: TestDatabase;
let stub: HttpStub;
let replies: ReplyBus;
let processRun: RunProcessor;
let logsDir: string;
let projectId: string;
let flow: { id: string; versionId: string };
const runner = createFlowRunner({ allowPrivateNetwork: true });

const trigger = { body: { n: 4 }, headers: {}, query: {} };

beforeAll(async () => {
  database = await createTestDatabase();
  stub = await startHttpStub();
  logsDir = await mkdtemp(join(tmpdir(), 'sluice-process-run-'));
  replies = await createRedisReplyBus({ url: 'redis://127.0.0.1:6379' }, randomUUID(), {
    subscribe: true,
  });
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'process-run',
    apiKey: generateApiKey(),
  }));
  // Code, then a call out, then the reply: the call is the side effect to hold back.
  flow = await createFlow(database.handle.db, {
    projectId,
    name: 'calls-out',
    definition: {
      name: 'calls-out',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'calc', type: 'code', code: 'export default ({ trigger }) => trigger.body.n * 2' },
        { id: 'notify', type: 'http', method: 'POST', url: stub.url, body: { n: '{{calc}}' } },
        { id: 'reply', type: 'respond', status: 200, body: { doubled: '{{calc}}' } },
      ],
    },
    webhookSecret: null,
  });
  processRun = processorReplyingThrough(replies);
});

/** A run processor on the test database and runner, whose sync replies go through `bus`. */
function processorReplyingThrough(bus: Pick<ReplyBus, 'publish' | 'notice'>) {
  const logger = pino({ level: 'silent' });
  const store = createLocalFileStore({
    dir: logsDir,
    publicBaseUrl: 'http://127.0.0.1:1',
    signingSecret: 'a-signing-secret-for-tests-only-0123',
  });
  return createRunProcessor({
    db: database.handle.db,
    secrets: testSecretStore(database.handle.db),
    logs: createRunLogWriter({ db: database.handle.db, store, logger }),
    runner,
    replies: bus,
    flowTimeoutMs: 10_000,
    logger,
  });
}
afterEach(() => {
  stub.requests.length = 0;
});
afterAll(async () => {
  runner.dispose();
  await replies.close();
  await stub.close();
  await database.drop();
  await rm(logsDir, { recursive: true, force: true });
});

async function queuedRun(of: { id: string; versionId: string } = flow): Promise<string> {
  const id = randomUUID();
  await insertQueuedRun(database.handle.db, {
    id,
    projectId,
    flowId: of.id,
    flowVersionId: of.versionId,
    trigger,
  });
  return id;
}

const rowOf = async (runId: string) =>
  (await database.handle.db.select().from(runs).where(eq(runs.id, runId)))[0];

describe('processing a sync job that carries its trigger (early start)', () => {
  it('runs the flow, records it under the claimed attempt and replies', async () => {
    const runId = await queuedRun();
    const reply = replies.waitFor(runId, 5_000);
    await processRun({
      runId,
      replyTo: replies.channel,
      enqueuedAt: preciseNow(),
      start: { flowVersionId: flow.versionId, trigger },
    });
    expect(await reply.reply).toMatchObject({ status: 'succeeded', body: { doubled: 8 } });
    const row = await rowOf(runId);
    expect(row).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(stub.requests.map((request) => JSON.parse(request.body))).toEqual([{ n: 8 }]);
    // Inputs stay in the run log: the row keeps each step's summary and small output only.
    expect(row?.steps).toHaveLength(3);
    for (const step of (row?.steps ?? []) as object[]) expect(step).not.toHaveProperty('input');
  });

  it('never calls out, records or replies for a run that already ended (a duplicate delivery)', async () => {
    const runId = await queuedRun();
    await processRun({ runId, replyTo: null });
    expect(stub.requests).toHaveLength(1);
    const ended = await rowOf(runId);

    const reply = replies.waitFor(runId, 300);
    await processRun({
      runId,
      replyTo: replies.channel,
      start: { flowVersionId: flow.versionId, trigger },
    });

    expect(await reply.reply).toBeNull(); // the waiter's timeout: nothing was published
    expect(stub.requests).toHaveLength(1);
    expect(await rowOf(runId)).toEqual(ended);
  });

  it('runs the version in the run row when the job names another one', async () => {
    const replyWith = (v: number) => ({
      name: 'versions',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', status: 200, body: { v } }],
    });
    const versioned = await createFlow(database.handle.db, {
      projectId,
      name: 'versions',
      definition: replyWith(1),
      webhookSecret: null,
    });
    const second = await addFlowVersion(database.handle.db, {
      projectId,
      flowId: versioned.id,
      name: 'versions',
      definition: replyWith(2),
    });
    const runId = await queuedRun({ id: versioned.id, versionId: second?.versionId ?? '' });
    const reply = replies.waitFor(runId, 5_000);
    await processRun({
      runId,
      replyTo: replies.channel,
      start: { flowVersionId: versioned.versionId, trigger },
    });
    expect(await reply.reply).toMatchObject({ status: 'succeeded', body: { v: 2 } });
    expect(await rowOf(runId)).toMatchObject({ status: 'succeeded', response: { v: 2 } });
  });

  it('stops a flow that is not ours instead of letting it run to the flow timeout', async () => {
    const endless = await createFlow(database.handle.db, {
      projectId,
      name: 'endless',
      definition: {
        name: 'endless',
        trigger: { type: 'webhook' },
        steps: [{ id: 'spin', type: 'code', code: 'export default () => { while (true) {} }' }],
      },
      webhookSecret: null,
    });
    const runId = await queuedRun(endless);
    await database.handle.db
      .update(runs)
      .set({ status: 'canceled', finishedAt: new Date() })
      .where(eq(runs.id, runId));
    const started = Date.now();
    await processRun({
      runId,
      replyTo: null,
      start: { flowVersionId: endless.versionId, trigger },
    });
    // The code step may spin for 5 s (its cap) and the flow for 10 s; the claim stops it first.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await rowOf(runId)).toMatchObject({ status: 'canceled', attempt: 0 });
  });
});

describe('a job whose run this database does not know', () => {
  it('throws UnknownRunError, without calling out or replying, also when it carries its trigger', async () => {
    const runId = randomUUID(); // never inserted: another deployment's run
    const reply = replies.waitFor(runId, 300);
    await expect(
      processRun({
        runId,
        replyTo: replies.channel,
        start: { flowVersionId: flow.versionId, trigger },
      }),
    ).rejects.toBeInstanceOf(UnknownRunError);
    await expect(processRun({ runId, replyTo: null })).rejects.toBeInstanceOf(UnknownRunError);
    expect(await reply.reply).toBeNull();
    expect(stub.requests).toEqual([]);
    expect(await rowOf(runId)).toBeUndefined();
  });
});

describe('an outcome PostgreSQL refuses to store', () => {
  it('ends the run failed with a fixed error instead of running it again', async () => {
    // A runner whose outcome the database refuses (a status beyond integer range): the
    // engine never produces one, so this stands for whatever slips past its checks.
    const refusedRunner = {
      run: async () => ({
        status: 'succeeded' as const,
        response: { status: 2 ** 40, body: { ok: true } },
        log: [],
      }),
      dispose: () => undefined,
    };
    const logger = pino({ level: 'silent' });
    const process = createRunProcessor({
      db: database.handle.db,
      secrets: testSecretStore(database.handle.db),
      logs: { write: async () => undefined, drain: async () => undefined },
      runner: refusedRunner as unknown as ReturnType<typeof createFlowRunner>,
      replies,
      flowTimeoutMs: 10_000,
      logger,
    } as unknown as Parameters<typeof createRunProcessor>[0]);
    const runId = await queuedRun();
    const reply = replies.waitFor(runId, 5_000);
    await process({ runId, replyTo: replies.channel });
    expect(await rowOf(runId)).toMatchObject({
      status: 'failed',
      error: 'the run ended but its outcome could not be stored',
      attempt: 1,
    });
    expect(await reply.reply).toMatchObject({ status: 'failed' });
  });
});

describe('the sync reply', () => {
  it("leaves with the outcome's statement where the bus is PostgreSQL's, and is not published", async () => {
    const bus = await createPgReplyBus(database.handle.db, randomUUID(), (options) =>
      createSessionConnection({ access: { url: database.url }, ...options }),
    );
    try {
      const published: string[] = [];
      const processor = processorReplyingThrough({
        publish: async (channel, reply) => {
          published.push(reply.runId);
          await bus.publish(channel, reply);
        },
        notice: bus.notice,
      });
      // Both ways of recording: claim then finish (this flow calls out) ...
      const claimed = await queuedRun();
      const claimedReply = bus.waitFor(claimed, 5_000);
      await processor({ runId: claimed, replyTo: bus.channel });
      expect(await claimedReply.reply).toMatchObject({ status: 'succeeded', body: { doubled: 8 } });
      // ... and claim-and-finish in one statement (no side effects, the job carries its copy).
      const pure = await createFlow(database.handle.db, {
        projectId,
        name: 'pure',
        definition: {
          name: 'pure',
          trigger: { type: 'webhook' },
          steps: [{ id: 'reply', type: 'respond', status: 200, body: { n: '{{trigger.body.n}}' } }],
        },
        webhookSecret: null,
      });
      const unclaimed = await queuedRun(pure);
      const unclaimedReply = bus.waitFor(unclaimed, 5_000);
      await processor({
        runId: unclaimed,
        replyTo: bus.channel,
        start: { flowVersionId: pure.versionId, projectId, trigger },
      });
      expect(await unclaimedReply.reply).toMatchObject({ status: 'succeeded', body: { n: 4 } });
      expect(await rowOf(unclaimed)).toMatchObject({ status: 'succeeded', attempt: 1 });
      expect(published).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  it('does not hold up the job, and a stopping worker waits until it is delivered', async () => {
    // The real reply bus, behind a gate that stands for a slow delivery.
    let openGate = () => {};
    const gate = new Promise<void>((open) => {
      openGate = open;
    });
    const processor = processorReplyingThrough({
      publish: async (channel, reply) => {
        await gate;
        await replies.publish(channel, reply);
      },
    });
    const runId = await queuedRun();
    const reply = replies.waitFor(runId, 5_000);
    await processor({ runId, replyTo: replies.channel });
    // The job is done: its run is recorded, while its reply is still on its way.
    expect(await rowOf(runId)).toMatchObject({ status: 'succeeded', attempt: 1 });
    const pending = Symbol('pending');
    const soon = (promise: Promise<unknown>) =>
      Promise.race([promise, new Promise((done) => setTimeout(() => done(pending), 200))]);
    expect(await soon(reply.reply)).toBe(pending);
    const draining = processor.drainReplies();
    expect(await soon(draining)).toBe(pending);
    openGate();
    await draining;
    expect(await reply.reply).toMatchObject({ status: 'succeeded', body: { doubled: 8 } });
  });
});
