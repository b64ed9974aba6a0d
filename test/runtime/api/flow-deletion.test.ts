import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../../support/flows';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

/** Fetches a local signed URL through the in-process app, retrying while the log is written. */
async function fetchLog(url: string): Promise<Response> {
  const { pathname, search } = new URL(url);
  for (let i = 0; ; i++) {
    const res = await stack.api.request(`${pathname}${search}`);
    if (res.status === 200 || i === 50) return res;
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('DELETE /v1/flows/:id', () => {
  it('keeps the flow’s runs and their logs readable', async () => {
    const created = await stack.call('POST', '/v1/flows', doubleFlow);
    const { id: flowId } = (await created.json()) as { id: string };
    const sync = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":2}',
    });
    expect(sync.status).toBe(201);
    const [run] = (
      (await (await stack.call('GET', `/v1/runs?flowId=${flowId}`)).json()) as {
        runs: { id: string }[];
      }
    ).runs;

    expect((await stack.call('DELETE', `/v1/flows/${flowId}`)).status).toBe(204);
    const webhook = await stack.api.request(`/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(webhook.status).toBe(404);

    const res = await stack.call('GET', `/v1/runs/${run?.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; logUrl: string };
    expect(body.status).toBe('succeeded');
    const log = await fetchLog(body.logUrl);
    expect(log.status).toBe(200);
    expect(((await log.json()) as { runId: string }).runId).toBe(run?.id);
  });
});
