import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { cancelRun } from '../../../runtime/db/run-control-store';
import { insertQueuedRun } from '../../../runtime/db/run-store';
import { runs } from '../../../runtime/db/schema';
import { createFlowRunner } from '../../../runtime/engine';
import { createRedisReplyBus } from '../../../runtime/queue/redis-reply-bus';
import type { ReplyBus } from '../../../runtime/queue/reply-bus';
import { preciseNow, type RunJob } from '../../../runtime/queue/run-queue';
import { createLocalFileStore } from '../../../runtime/storage';
import { createCancelWatch } from '../../../runtime/worker/cancel-watch';
import { createRunProcessor } from '../../../runtime/worker/process-run';
import { createRunLogWriter } from '../../../runtime/worker/run-log-writer';
import { createTestDatabase, type TestDatabase, withPgClient } from '../../support/database';
import { type HttpStub, startHttpStub } from '../../support/http-stub';
import { testSecretStore } from '../../support/secrets';

/**
 * A sync job that carries its trigger and project, for a flow with no side effects: it runs
 * unclaimed and is claimed and recorded by one statement, which a trigger on the table sees
 * as one status change (queued → outcome). Logs up to the inline limit stay in the row.
 */
let database: TestDatabase;
let stub: HttpStub;
let replies: ReplyBus;
let logsDir: string;
let projectId: string;
const runner = createFlowRunner({ allowPrivateNetwork: true });
const logger = pino({ level: 'silent' });
const INLINE_MAX = 4096;
const trigger = { body: { n: 4 }, headers: {}, query: {} };
let processRun: (job: RunJob) => Promise<void>;
let stopCancelWatch: () => void;

async function flowOf(name: string, steps: unknown[]) {
  return createFlow(database.handle.db, {
    projectId,
    name,
    definition: { name, trigger: { type: 'webhook' }, steps },
    webhookSecret: null,
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  stub = await startHttpStub();
  logsDir = await mkdtemp(join(tmpdir(), 'sluice-unclaimed-run-'));
  replies = await createRedisReplyBus({ url: 'redis://127.0.0.1:6379' }, randomUUID(), {
    subscribe: true,
  });
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'unclaimed',
    apiKey: generateApiKey(),
  }));
  // Every status change of a run, in order: what tells one statement from claim then finish.
  await withPgClient(database.url, async (client) => {
    await client.query(`
      create table status_changes (seq serial, run_id text, old text, new text, attempt int);
      create function record_status_change() returns trigger language plpgsql as $$
      begin
        if new.status is distinct from old.status then
          insert into status_changes (run_id, old, new, attempt)
          values (new.id, old.status, new.status, new.attempt);
        end if;
        return new;
      end $$;
      create trigger runs_status_changes after update on runs
        for each row execute function record_status_change();`);
  });
  const store = createLocalFileStore({
    dir: logsDir,
    publicBaseUrl: 'http://127.0.0.1:1',
    signingSecret: 'a-signing-secret-for-tests-only-0123',
  });
  const cancelWatch = createCancelWatch(database.handle.db, { intervalMs: 50, logger });
  stopCancelWatch = () => cancelWatch.close();
  processRun = createRunProcessor({
    db: database.handle.db,
    secrets: testSecretStore(database.handle.db),
    logs: createRunLogWriter({ db: database.handle.db, store, logger }),
    runner,
    replies,
    flowTimeoutMs: 10_000,
    logger,
    cancelWatch,
    inlineLogMaxBytes: INLINE_MAX,
  });
});
afterAll(async () => {
  stopCancelWatch();
  runner.dispose();
  await replies.close();
  await stub.close();
  await database.drop();
  await rm(logsDir, { recursive: true, force: true });
});

async function queuedRun(flow: { id: string; versionId: string }): Promise<string> {
  const id = randomUUID();
  await insertQueuedRun(database.handle.db, {
    id,
    projectId,
    flowId: flow.id,
    flowVersionId: flow.versionId,
    trigger,
  });
  return id;
}

const syncJob = (runId: string, flow: { versionId: string }): RunJob => ({
  runId,
  replyTo: replies.channel,
  enqueuedAt: preciseNow(),
  start: { flowVersionId: flow.versionId, projectId, trigger },
});

const rowOf = async (runId: string) =>
  (await database.handle.db.select().from(runs).where(eq(runs.id, runId)))[0];

const statusChanges = (runId: string) =>
  withPgClient(database.url, async (client) => {
    const { rows } = await client.query<{ old: string; new: string; attempt: number }>(
      'select old, new, attempt from status_changes where run_id = $1 order by seq',
      [runId],
    );
    return rows.map((row) => `${row.old}→${row.new}@${row.attempt}`);
  });

const storedLogs = async () => (await readdir(logsDir, { recursive: true })).join('\n');

const doubler = [
  { id: 'calc', type: 'code', code: 'export default ({ trigger }) => trigger.body.n * 2' },
  { id: 'reply', type: 'respond', status: 200, body: { doubled: '{{calc}}' } },
];

describe('a sync run of a flow with no side effects', () => {
  it('goes from queued to its outcome in one statement, with its log in the row, and replies', async () => {
    const flow = await flowOf('doubler', doubler);
    const runId = await queuedRun(flow);
    const reply = replies.waitFor(runId, 5_000);
    await processRun(syncJob(runId, flow));
    expect(await reply.reply).toMatchObject({ status: 'succeeded', body: { doubled: 8 } });
    expect(await statusChanges(runId)).toEqual(['queued→succeeded@1']);
    const row = await rowOf(runId);
    expect(row).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      logKey: null,
      response: { doubled: 8 },
    });
    expect(row?.startedAt?.getTime()).toBeLessThanOrEqual(row?.finishedAt?.getTime() ?? 0);
    expect(row?.dispatchMs).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(row?.logBody ?? 'null')).toMatchObject({
      runId,
      attempt: 1,
      status: 'succeeded',
      log: [{ stepId: 'calc', output: 8 }, { stepId: 'reply' }],
    });
    expect(await storedLogs()).not.toContain(runId);
  });

  it('is claimed as any other when the row is not the queued attempt 0 its copy describes', async () => {
    const flow = await flowOf('doubler-handed-back', doubler);
    const runId = await queuedRun(flow);
    // As a drain hand-back leaves it: queued again after a first attempt.
    await database.handle.db.update(runs).set({ attempt: 1 }).where(eq(runs.id, runId));
    await processRun(syncJob(runId, flow));
    expect(await statusChanges(runId)).toEqual(['queued→running@2', 'running→succeeded@2']);
    expect(await rowOf(runId)).toMatchObject({ status: 'succeeded', attempt: 2 });
  });

  it('claims a run still going after 250 ms, so that it shows as running', async () => {
    const flow = await flowOf('slow-doubler', [
      {
        id: 'calc',
        type: 'code',
        code: 'export default async ({ trigger }) => { const end = Date.now() + 600; while (Date.now() < end) {} return trigger.body.n * 2; }',
      },
    ]);
    const runId = await queuedRun(flow);
    const processing = processRun(syncJob(runId, flow));
    await expect.poll(async () => (await rowOf(runId))?.status, { timeout: 2_000 }).toBe('running');
    await processing;
    expect(await statusChanges(runId)).toEqual(['queued→running@1', 'running→succeeded@1']);
  });

  it('records nothing over a cancel that lands while it runs, and tells the caller', async () => {
    const flow = await flowOf('endless-unclaimed', [
      { id: 'spin', type: 'code', code: 'export default () => { while (true) {} }' },
    ]);
    const runId = await queuedRun(flow);
    const reply = replies.waitFor(runId, 5_000);
    const processing = processRun(syncJob(runId, flow));
    // Within the first 250 ms, while the run is still unclaimed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await cancelRun(database.handle.db, projectId, runId)).toEqual({ canceled: true });
    await processing;
    expect(await reply.reply).toMatchObject({ status: 'canceled' });
    expect(await rowOf(runId)).toMatchObject({ status: 'canceled' });
  });

  it('keeps a log over the inline limit in storage, not in the row', async () => {
    const flow = await flowOf('big-log', [
      { id: 'big', type: 'code', code: `export default () => 'x'.repeat(${INLINE_MAX})` },
    ]);
    const runId = await queuedRun(flow);
    await processRun(syncJob(runId, flow));
    const row = await rowOf(runId);
    expect(row).toMatchObject({ status: 'succeeded', logBody: null });
    expect(row?.logKey).toContain(runId);
    await expect.poll(storedLogs).toContain(runId);
  });
});

describe('a sync run of a flow with an http step', () => {
  it('is claimed before it calls out, and recorded by a second statement', async () => {
    const flow = await flowOf('calls-out', [
      { id: 'notify', type: 'http', method: 'POST', url: stub.url, body: { n: 1 } },
    ]);
    const runId = await queuedRun(flow);
    await processRun(syncJob(runId, flow));
    expect(stub.requests).toHaveLength(1);
    expect(await statusChanges(runId)).toEqual(['queued→running@1', 'running→succeeded@1']);
  });
});
