import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../../support/flows';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
});
afterAll(() => stack.close());

type Flow = { runRetentionDays: number | null };
const flowOf = async (id: string) =>
  (await (await stack.call('GET', `/v1/flows/${id}`)).json()) as Flow;

describe("a flow's run retention", () => {
  it('defaults to SLUICE_RUN_RETENTION_DAYS (null), is set on create, kept by a PUT without it, and cleared by null', async () => {
    const plain = (await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as {
      id: string;
    };
    expect((await flowOf(plain.id)).runRetentionDays).toBeNull();

    const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, runRetentionDays: 7 });
    const { id } = (await res.json()) as { id: string };
    expect((await flowOf(id)).runRetentionDays).toBe(7);
    await stack.call('PUT', `/v1/flows/${id}`, doubleFlow);
    expect((await flowOf(id)).runRetentionDays).toBe(7);
    await stack.call('PUT', `/v1/flows/${id}`, { ...doubleFlow, runRetentionDays: null });
    expect((await flowOf(id)).runRetentionDays).toBeNull();
  });

  it('refuses 0 days with a 400 naming the field', async () => {
    const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, runRetentionDays: 0 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'runRetentionDays',
    );
  });
});
