import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENQUEUE_FAILED } from '../../../runtime/db/run-recovery-store';
import { createSessionConnection } from '../../../runtime/db/session-connection';
import { createRunHolds } from '../../../runtime/queue/run-holds';
import type { RunJob } from '../../../runtime/queue/run-queue';
import { createSqsDriver } from '../../../runtime/queue/sqs-driver';
import {
  decodeRunMessage,
  encodeRunMessage,
  MAX_RUN_MESSAGE_BYTES,
} from '../../../runtime/queue/sqs-run-message';
import { createSqsWire } from '../../../runtime/queue/sqs-wire';
import { startWorker } from '../../../runtime/roles/worker';
import {
  FAUXQS_CREDENTIALS,
  type RunningFauxqs,
  sqsEnv,
  startFauxqsServer,
} from '../../support/fauxqs';
import { codeFlow, doubleFlow } from '../../support/flows';
import { type HttpStub, startHttpStub } from '../../support/http-stub';
import { freePort } from '../../support/processes';
import { testSecretStore } from '../../support/secrets';
import { startSilentServer } from '../../support/silent-server';
import { querySql } from '../../support/sql';
import { startTestStack, type TestStack } from '../../support/stack';
import { startTcpProxy } from '../../support/tcp-proxy';

let fauxqs: RunningFauxqs;
let sideEffects: HttpStub;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [fauxqs, sideEffects] = await Promise.all([startFauxqsServer(), startHttpStub()]);
});
afterAll(async () => {
  await sideEffects?.close();
  await fauxqs?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const queueName = (url: string) => url.split('/').at(-1) ?? '';
/** Messages still in the queue: visible, delayed or in flight. */
const messagesLeft = (url: string) => {
  const view = fauxqs.server.inspectQueue(queueName(url));
  return (
    (view?.messages.ready.length ?? 0) +
    (view?.messages.delayed.length ?? 0) +
    (view?.messages.inflight.length ?? 0)
  );
};

async function until<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sqsStack(overrides: Record<string, string> = {}, options = { worker: true }) {
  const queueUrl = fauxqs.createQueue();
  const stack = await startTestStack(
    { ...sqsEnv(fauxqs.endpoint, queueUrl), ...overrides },
    options,
  );
  cleanups.push(() => stack.close());
  return { stack, queueUrl };
}

async function createFlow(stack: TestStack, definition: unknown): Promise<string> {
  const res = await stack.call('POST', '/v1/flows', definition);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

type Run = { status: string; attempt: number };
const runOf = async (stack: TestStack, runId: string) =>
  (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as Run;

/** A worker on its own SQS client, which sends each message it receives back twice: once now, once a second later. */
function startDuplicatingWorker(stack: TestStack, queueUrl: string) {
  const client = new SQSClient({
    region: 'us-east-1',
    endpoint: fauxqs.endpoint,
    credentials: FAUXQS_CREDENTIALS,
  });
  const seen = new Set<string>();
  const wire = createSqsWire(client, queueUrl);
  const receive = wire.receiveMessage.bind(wire);
  wire.receiveMessage = async (options, signal) => {
    const messages = await receive(options, signal);
    for (const { Body } of messages) {
      if (Body === undefined || seen.has(Body)) continue;
      seen.add(Body);
      await wire.sendMessage(Body);
      await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: Body, DelaySeconds: 1 }),
      );
    }
    return messages;
  };
  const logger = pino({ level: 'silent' });
  const driver = createSqsDriver({
    client,
    wire,
    queueUrl,
    db: stack.database.handle.db,
    openSession: (options) =>
      createSessionConnection({ access: { url: stack.database.url }, ...options }),
    stalledAfterS: 30,
    reconcileAfterS: 30,
    workerId: 'sqs-driver-test',
    logger,
  });
  const worker = startWorker({
    env: { ...stack.env, SLUICE_WORKER_CONCURRENCY: 2 },
    db: stack.database.handle.db,
    driver,
    store: {} as never,
    secrets: testSecretStore(stack.database.handle.db),
    replies: { publish: async () => undefined },
    logger,
  });
  cleanups.push(async () => {
    await worker.close();
    await driver.queue.close();
  });
  return { duplicated: seen };
}

describe('sqs run messages', () => {
  it('carry the early-start copy when it fits, and only the ids when it does not', () => {
    const small: RunJob = {
      runId: 'r1',
      replyTo: 'c',
      start: { flowVersionId: 'v', trigger: { body: 1 } },
    };
    expect(decodeRunMessage(encodeRunMessage(small))).toMatchObject(small);
    const big: RunJob = {
      ...small,
      start: { flowVersionId: 'v', trigger: { body: 'x'.repeat(MAX_RUN_MESSAGE_BYTES) } },
    };
    const body = encodeRunMessage(big);
    expect(Buffer.byteLength(body)).toBeLessThan(1024);
    expect(decodeRunMessage(body)).toEqual({ runId: 'r1', replyTo: 'c' });
  });

  it('escape the two characters SQS refuses in a body', () => {
    const body = encodeRunMessage({
      runId: 'r',
      replyTo: null,
      start: { flowVersionId: 'v', trigger: '\uFFFF\uFFFE' },
    });
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(decodeRunMessage(body).start?.trigger).toBe('\uFFFF\uFFFE');
  });
});

describe('the sqs driver', () => {
  it('answers a sync webhook through SQS and PostgreSQL, and leaves the queue empty', async () => {
    const { stack, queueUrl } = await sqsStack();
    const flowId = await createFlow(stack, doubleFlow);
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ doubled: 42 });
    await until(
      () => messagesLeft(queueUrl),
      (left) => left === 0,
    );
  });

  it('accepts a run whose trigger is too large for an SQS message, which then carries only the run id', async () => {
    const { stack } = await sqsStack();
    const flowId = await createFlow(
      stack,
      codeFlow('export default ({ trigger }) => trigger.body.s.length'),
    );
    const s = 'y'.repeat(300 * 1024);
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ s }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(s.length);
  });

  it('runs each run once when every message is delivered twice', async () => {
    const { stack, queueUrl } = await sqsStack({}, { worker: false });
    const { duplicated } = startDuplicatingWorker(stack, queueUrl);
    const flowId = await createFlow(stack, {
      name: 'side-effect',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'hit',
          type: 'http',
          method: 'POST',
          url: `${sideEffects.url}/hit`,
          body: { i: '{{trigger.body.i}}' },
        },
      ],
    });
    const runIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ i }),
      });
      runIds.push(((await res.json()) as { runId: string }).runId);
    }
    const runs = await until(
      () => Promise.all(runIds.map((id) => runOf(stack, id))),
      (all) => all.every((run) => run.status === 'succeeded'),
    );
    // Every copy, the late ones included, is received and dropped.
    await until(
      () => messagesLeft(queueUrl),
      (left) => left === 0,
    );
    expect(duplicated.size).toBe(6);
    expect(runs.map((run) => run.attempt)).toEqual([1, 1, 1, 1, 1, 1]);
    const hits = sideEffects.requests
      .filter((r) => r.path === '/hit')
      .map((r) => (JSON.parse(r.body) as { i: number }).i);
    expect(hits.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('logs and deletes malformed messages and messages for unknown runs, and keeps serving', async () => {
    const { stack, queueUrl } = await sqsStack();
    const name = queueName(queueUrl);
    fauxqs.server.sendMessage(name, 'not json');
    fauxqs.server.sendMessage(name, JSON.stringify({ hello: 'world' }));
    fauxqs.server.sendMessage(name, JSON.stringify({ runId: 'no-such-run', replyTo: null }));
    await until(
      () => messagesLeft(queueUrl),
      (left) => left === 0,
    );
    const flowId = await createFlow(stack, doubleFlow);
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 2 }),
    });
    expect(await res.json()).toEqual({ doubled: 4 });
  });

  it('deletes a message whose ids PostgreSQL cannot take, instead of receiving it again and again', async () => {
    const { stack, queueUrl } = await sqsStack();
    const name = queueName(queueUrl);
    // Valid JSON and a valid SQS body (the NUL is escaped), but no text column takes it.
    fauxqs.server.sendMessage(name, JSON.stringify({ runId: 'run\u0000x', replyTo: null }));
    fauxqs.server.sendMessage(
      name,
      JSON.stringify({ runId: 'run-y', replyTo: 'sluice:reply:\u0000' }),
    );
    await until(
      () => messagesLeft(queueUrl),
      (left) => left === 0,
    );
    const flowId = await createFlow(stack, doubleFlow);
    const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 3 }),
    });
    expect(await res.json()).toEqual({ doubled: 6 });
  });

  it('keeps a message hidden past its visibility timeout while the flow runs', async () => {
    const { stack, queueUrl } = await sqsStack({ SLUICE_STALLED_AFTER_S: '2' });
    const flowId = await createFlow(
      stack,
      codeFlow(
        'export default () => { const end = Date.now() + 4500; while (Date.now() < end) {} return 1; }',
      ),
    );
    const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const { runId } = (await res.json()) as { runId: string };
    const run = await until(
      () => runOf(stack, runId),
      (r) => r.status === 'succeeded',
    );
    expect(run.attempt).toBe(1);
    await until(
      () => messagesLeft(queueUrl),
      (left) => left === 0,
    );
  });
});

describe('run holds', () => {
  it('give a run to one slot only when two slots of the same worker take it at once', async () => {
    const { stack } = await sqsStack({}, { worker: false });
    const flowId = await createFlow(stack, doubleFlow);
    const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    const { runId } = (await res.json()) as { runId: string };
    const session = createSessionConnection({
      access: { url: stack.database.url },
      applicationName: 'test',
    });
    cleanups.push(() => session.close());
    const holds = createRunHolds(session);
    // PostgreSQL grants a session's own advisory lock again: the holds must not.
    const outcomes = await Promise.all([holds.take(runId), holds.take(runId)]);
    expect(outcomes.filter((outcome) => outcome.taken)).toHaveLength(1);
    expect(await holds.take(runId)).toEqual({ taken: false, reason: 'held' });
  });
});

describe('when PostgreSQL is down under a worker', () => {
  it('receives no more messages until it is back, so none is dead-lettered meanwhile', async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const dlq = fauxqs.server.createQueue(`dlq-${suffix}`);
    const { queueUrl } = fauxqs.server.createQueue(`runs-${suffix}`, {
      attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: '3' }),
      },
    });
    const stack = await startTestStack(sqsEnv(fauxqs.endpoint, queueUrl), { worker: false });
    cleanups.push(() => stack.close());
    const flowId = await createFlow(stack, doubleFlow);
    const runIds: string[] = [];
    for (let n = 0; n < 3; n++) {
      const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n }),
      });
      runIds.push(((await res.json()) as { runId: string }).runId);
    }
    // The worker reaches PostgreSQL through a proxy that is down: it cannot take any run.
    const proxy = await startTcpProxy(5432);
    cleanups.push(() => proxy.close());
    proxy.refuse(true);
    const client = new SQSClient({
      region: 'us-east-1',
      endpoint: fauxqs.endpoint,
      credentials: FAUXQS_CREDENTIALS,
    });
    const logger = pino({ level: 'silent' });
    const driver = createSqsDriver({
      client,
      queueUrl,
      db: stack.database.handle.db,
      openSession: (options) =>
        createSessionConnection({
          access: { url: stack.database.url.replace(':5432/', `:${proxy.port}/`) },
          ...options,
        }),
      // A message not deleted is back after a second, and may be received again.
      stalledAfterS: 1,
      reconcileAfterS: 30,
      workerId: 'postgres-down-test',
      logger,
    });
    const worker = startWorker({
      env: { ...stack.env, SLUICE_WORKER_CONCURRENCY: 1 },
      db: stack.database.handle.db,
      driver,
      store: {} as never,
      secrets: testSecretStore(stack.database.handle.db),
      replies: { publish: async () => undefined },
      logger,
    });
    cleanups.push(async () => {
      await worker.close();
      await driver.queue.close();
    });
    // Long enough for each message to be received three times, were the worker to keep receiving.
    await new Promise((done) => setTimeout(done, 5000));
    expect(messagesLeft(dlq.queueUrl)).toBe(0);
    proxy.refuse(false);
    const runs = await until(
      () => Promise.all(runIds.map((id) => runOf(stack, id))),
      (all) => all.every((run) => run.status === 'succeeded'),
    );
    expect(runs.map((run) => run.attempt)).toEqual([1, 1, 1]);
    expect(messagesLeft(dlq.queueUrl)).toBe(0);
  });
});

describe('when SQS cannot be reached at accept', () => {
  it.each([
    [
      'refuses connections',
      async () => ({
        endpoint: `http://127.0.0.1:${await freePort()}`,
        close: async () => undefined,
      }),
    ],
    [
      'hangs',
      async () => {
        const silent = await startSilentServer();
        return { endpoint: `http://127.0.0.1:${silent.port}`, close: silent.close };
      },
    ],
  ])('answers 503 within 2 s when SQS %s, and the refused run never runs', async (_, reach) => {
    const down = await reach();
    cleanups.push(down.close);
    const queueUrl = fauxqs.createQueue();
    // The APP reaches a dead SQS; the worker reads the real queue, where nothing may arrive.
    const stack = await startTestStack({ ...sqsEnv(down.endpoint, queueUrl) }, { worker: false });
    cleanups.push(() => stack.close());
    startDuplicatingWorker(stack, queueUrl);
    const flowId = await createFlow(stack, doubleFlow);
    const started = Date.now();
    const res = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await res.json()).toEqual({
      error: {
        code: 'queue_unavailable',
        message: 'queue is unavailable; retry',
        requestId: expect.any(String),
      },
    });
    const rows = await querySql<{ status: string; error: string }>(
      stack.database.url,
      'select status, error from runs',
    );
    expect(rows).toEqual([{ status: 'canceled', error: ENQUEUE_FAILED }]);
    expect(messagesLeft(queueUrl)).toBe(0);
  });
});

describe('readiness with the sqs queue', () => {
  it('checks PostgreSQL and SQS, and answers 503 naming sqs when SQS is down', async () => {
    const { stack } = await sqsStack({}, { worker: false });
    const ready = await stack.api.request('/v1/health/ready');
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', sqs: 'ok' } });

    const down = await startTestStack(
      sqsEnv(`http://127.0.0.1:${await freePort()}`, fauxqs.createQueue()),
      { worker: false },
    );
    cleanups.push(() => down.close());
    const notReady = await down.api.request('/v1/health/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      error: { code: 'not_ready', details: { postgres: 'ok', sqs: 'down' } },
    });
  });
});

describe('an SQS permission error', () => {
  it('names the action that was refused', async () => {
    const denied = await startHttpStub(() => ({
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        __type: 'com.amazon.coral.service#AccessDeniedException',
        message: 'User is not authorized to perform: sqs:getqueueattributes',
      }),
    }));
    cleanups.push(denied.close);
    const driver = createSqsDriver({
      client: new SQSClient({
        region: 'us-east-1',
        endpoint: denied.url,
        credentials: FAUXQS_CREDENTIALS,
      }),
      queueUrl: `${denied.url}/000000000000/runs`,
      db: {} as never,
      openSession: () => ({}) as never,
      stalledAfterS: 30,
      reconcileAfterS: 30,
      workerId: 'denied',
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => driver.queue.close());
    await expect(driver.queue.ping(2000)).rejects.toThrow(
      /^sqs:GetQueueAttributes failed: AccessDenied/,
    );
  });
});
