import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '../../../runtime/db/schema';
import { RUN_QUEUE_NAME, type RunJob } from '../../../runtime/queue/run-queue';
import { doubleFlow } from '../../support/flows';
import { startTestStack, type TestStack } from '../../support/stack';

// No worker: the jobs stay in the queue to be read.
let stack: TestStack;
let queue: Queue<RunJob>;
let flowId: string;

beforeAll(async () => {
  stack = await startTestStack({ SLUICE_WEBHOOK_TIMEOUT_S: '1' }, { worker: false });
  queue = new Queue(RUN_QUEUE_NAME, {
    connection: { host: '127.0.0.1', port: 6379 },
    prefix: stack.env.SLUICE_QUEUE_PREFIX,
  });
  const res = await stack.call('POST', '/v1/flows', doubleFlow);
  flowId = ((await res.json()) as { id: string }).id;
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await stack.close();
});

const post = (path: string, body: string) =>
  stack.api.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });

const jobOf = async (runId: string) => (await queue.getJob(runId))?.data;

describe('the job a webhook enqueues', () => {
  it('carries the flow version and trigger for a sync run, so a worker can start early', async () => {
    const res = await post(`/v1/webhooks/${flowId}/sync`, '{"n":2}');
    expect(res.status).toBe(504);
    const { runId } = (await res.json()) as { runId: string };
    const listed = await stack.call('GET', `/v1/flows/${flowId}/versions`);
    const [version] = ((await listed.json()) as { versions: { id: string }[] }).versions;
    expect(await jobOf(runId)).toMatchObject({
      runId,
      start: { flowVersionId: version?.id, trigger: { body: { n: 2 } } },
    });
  });

  it('orders the copy as the run row (jsonb) does, so every attempt sees the same trigger', async () => {
    const body =
      '{"n":2,"bb":1,"a":{"zz":1,"y":[{"é":1,"ab":2,"z":3}]},"__proto__":{"p":1},"10":0}';
    const res = await post(`/v1/webhooks/${flowId}/sync`, body);
    const { runId } = (await res.json()) as { runId: string };
    const [row] = await stack.database.handle.db
      .select({ trigger: runs.trigger })
      .from(runs)
      .where(eq(runs.id, runId));
    const copy = (await jobOf(runId))?.start?.trigger as { body: unknown };
    const stored = row?.trigger as { body: unknown } | undefined;
    expect(JSON.stringify(copy.body)).toBe(JSON.stringify(stored?.body));
    expect(Object.keys(copy.body as object)).toContain('__proto__');
  });

  it('carries no copy of a trigger over 16 Ki characters, nor of an async run', async () => {
    const big = await post(
      `/v1/webhooks/${flowId}/sync`,
      JSON.stringify({ pad: 'x'.repeat(17_000) }),
    );
    const small = await post(`/v1/webhooks/${flowId}`, '{"n":2}');
    for (const res of [big, small]) {
      const { runId } = (await res.json()) as { runId: string };
      const job = await jobOf(runId);
      expect(job?.runId).toBe(runId);
      expect(job).not.toHaveProperty('start');
    }
  });
});
