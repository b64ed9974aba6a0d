import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { codeFlow, doubleFlow, throwingFlow } from '../../support/flows';
import { startTestStack, type TestStack } from '../../support/stack';

type RunBody = { id: string; status: string; flowVersionId: string; replayOf: string | null };

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

const createFlow = async (definition: unknown) =>
  ((await (await stack.call('POST', '/v1/flows', definition)).json()) as { id: string }).id;

const getRun = async (runId: string) =>
  (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as RunBody;

/** Runs the flow through its sync webhook and answers the run's id once it ended. */
async function runOnce(flowId: string, body: unknown = { n: 2 }) {
  await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const { runs } = (await (
    await stack.call('GET', `/v1/runs?flowId=${flowId}&limit=1`)
  ).json()) as {
    runs: RunBody[];
  };
  return runs[0]?.id ?? '';
}

const ended = (runId: string, status: string) =>
  vi.waitFor(async () => expect((await getRun(runId)).status).toBe(status), {
    timeout: 10_000,
    interval: 20,
  });

const fixedFlow = codeFlow('export default ({ trigger }) => ({ n: trigger.body.n * 3 })', 'fixed');

describe('POST /v1/runs/:id/replay', () => {
  it('replays a failed run on the fixed current version, recording replayOf', async () => {
    const flowId = await createFlow(throwingFlow);
    const failed = await runOnce(flowId);
    expect((await getRun(failed)).status).toBe('failed');
    expect((await stack.call('PUT', `/v1/flows/${flowId}`, fixedFlow)).status).toBe(200);

    const res = await stack.call('POST', `/v1/runs/${failed}/replay`);
    expect(res.status).toBe(202);
    const { runId, replayOf } = (await res.json()) as { runId: string; replayOf: string };
    expect(replayOf).toBe(failed);
    await ended(runId, 'succeeded');
    const replay = (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as RunBody & {
      response: unknown;
    };
    expect(replay).toMatchObject({ replayOf: failed, response: { n: 6 } });
    expect(replay.flowVersionId).not.toBe((await getRun(failed)).flowVersionId);
  });

  it('replays on the original version with {"version":"same"}', async () => {
    const flowId = await createFlow(throwingFlow);
    const failed = await runOnce(flowId);
    await stack.call('PUT', `/v1/flows/${flowId}`, fixedFlow);
    const res = await stack.call('POST', `/v1/runs/${failed}/replay`, { version: 'same' });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    await ended(runId, 'failed');
    expect((await getRun(runId)).flowVersionId).toBe((await getRun(failed)).flowVersionId);
  });

  it('refuses a disabled flow with 409 and a deleted one with 404', async () => {
    const flowId = await createFlow(doubleFlow);
    const runId = await runOnce(flowId);
    await stack.call('POST', `/v1/flows/${flowId}/disable`);
    const disabled = await stack.call('POST', `/v1/runs/${runId}/replay`);
    expect(disabled.status).toBe(409);
    expect(((await disabled.json()) as { error: { code: string } }).error.code).toBe(
      'flow_disabled',
    );
    await stack.call('DELETE', `/v1/flows/${flowId}`);
    const deleted = await stack.call('POST', `/v1/runs/${runId}/replay`);
    expect(deleted.status).toBe(404);
    expect(((await deleted.json()) as { error: { code: string } }).error.code).toBe(
      'flow_not_found',
    );
  });

  it('answers 404 for a run it does not know', async () => {
    const res = await stack.call('POST', '/v1/runs/no-such-run/replay');
    expect(res.status).toBe(404);
  });

  it('answers 400 naming the field for a bad version or an unknown field', async () => {
    const runId = await runOnce(await createFlow(doubleFlow));
    for (const [body, field] of [
      [{ version: 'oldest' }, 'version'],
      [{ versoin: 'same' }, ''],
    ] as const) {
      const res = await stack.call('POST', `/v1/runs/${runId}/replay`, body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain(field === '' ? 'versoin' : `${field}:`);
    }
  });
});

describe('POST /v1/runs/replay', () => {
  it('replays the runs that match, up to the cap, and answers their count and ids', async () => {
    const flowId = await createFlow(throwingFlow);
    const before = new Date().toISOString();
    const failed = [await runOnce(flowId), await runOnce(flowId), await runOnce(flowId)];
    await stack.call('PUT', `/v1/flows/${flowId}`, fixedFlow);

    const res = await stack.call('POST', '/v1/runs/replay', {
      flowId,
      status: 'failed',
      createdFrom: before,
      limit: 2,
    });
    expect(res.status).toBe(202);
    const { count, runIds } = (await res.json()) as { count: number; runIds: string[] };
    expect(count).toBe(2);
    expect(runIds).toHaveLength(2);
    for (const id of runIds) await ended(id, 'succeeded');
    const replayed = await Promise.all(runIds.map(async (id) => (await getRun(id)).replayOf));
    // Oldest first: the cap leaves the newest original out.
    expect(replayed.sort()).toEqual(failed.slice(0, 2).sort());
  });

  it('replays nothing outside the time range', async () => {
    const flowId = await createFlow(doubleFlow);
    await runOnce(flowId);
    const res = await stack.call('POST', '/v1/runs/replay', {
      flowId,
      createdTo: new Date(Date.now() - 3_600_000).toISOString(),
    });
    expect(await res.json()).toEqual({ count: 0, runIds: [] });
  });

  it('answers 400 naming the field for each bad filter', async () => {
    const cases: [unknown, string][] = [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ status: 'lost' }, 'status'],
      [{ createdFrom: 'yesterday' }, 'createdFrom'],
      [{ createdFrom: '2026-01-02T00:00:00Z', createdTo: '2026-01-01T00:00:00Z' }, 'createdTo'],
      [{ flowId: '' }, 'flowId'],
      [{ version: 'newest' }, 'version'],
    ];
    for (const [body, field] of cases) {
      const res = await stack.call('POST', '/v1/runs/replay', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const { error } = (await res.json()) as { error: { message: string } };
      expect(error.message).toContain(`${field}:`);
    }
    const unknown = await stack.call('POST', '/v1/runs/replay', { flow: 'x' });
    expect(unknown.status).toBe(400);
  });
});
