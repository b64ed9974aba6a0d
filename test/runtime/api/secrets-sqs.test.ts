import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningFauxqs, sqsEnv, startFauxqsServer } from '../../support/fauxqs';
import { startTestStack, type TestStack } from '../../support/stack';

/** The secrets path on the sqs driver (PostgreSQL replies, no Redis): the worker is driver-blind. */

let fauxqs: RunningFauxqs;
let stack: TestStack;
beforeAll(async () => {
  fauxqs = await startFauxqsServer();
  stack = await startTestStack(sqsEnv(fauxqs.endpoint, fauxqs.createQueue()));
});
afterAll(async () => {
  await stack?.close();
  await fauxqs?.close();
});

describe('secrets with SLUICE_QUEUE=sqs', () => {
  it('reads, rotates and redacts a secret as on bullmq', async () => {
    await stack.call('POST', '/v1/secrets', { name: 'SQS_TOKEN', value: 'sqs-value-1' });
    const created = await stack.call('POST', '/v1/flows', {
      name: 'sqs-secret',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'code',
          type: 'code',
          code: 'export default ({ secrets }) => ({ t: secrets.SQS_TOKEN })',
        },
        { id: 'reply', type: 'respond', body: { t: '{{secrets.SQS_TOKEN}}' } },
      ],
    });
    const { id } = (await created.json()) as { id: string };
    const sync = async () =>
      (
        await stack.api.request(`/v1/webhooks/${id}/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).json();
    expect(await sync()).toEqual({ t: 'sqs-value-1' });
    await stack.call('PUT', '/v1/secrets/SQS_TOKEN', { value: 'sqs-value-2' });
    expect(await sync()).toEqual({ t: 'sqs-value-2' });

    const list = (await (await stack.call('GET', `/v1/runs?flowId=${id}`)).json()) as {
      runs: { id: string }[];
    };
    for (const run of list.runs) {
      const text = await (await stack.call('GET', `/v1/runs/${run.id}`)).text();
      expect(text).toContain('[secret:SQS_TOKEN]');
      expect(text).not.toContain('sqs-value');
    }
  });

  it("sends a respond step's large reply as the flow made it: its secret, its exact text and its headers", async () => {
    await stack.call('POST', '/v1/secrets', { name: 'BIG_TOKEN', value: 'big-value-1' });
    const created = await stack.call('POST', '/v1/flows', {
      name: 'sqs-big-reply',
      trigger: { type: 'webhook' },
      steps: [
        // Past NOTIFY's 8,000 bytes, with a NUL (the row stores U+FFFD) and non-ASCII text.
        { id: 'pad', type: 'code', code: "export default () => ({ s: 'é\\u0000'.repeat(3000) })" },
        {
          id: 'reply',
          type: 'respond',
          status: 201,
          headers: { 'x-token': '{{secrets.BIG_TOKEN}}' },
          body: { t: '{{secrets.BIG_TOKEN}}', pad: '{{pad.s}}' },
        },
      ],
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const started = Date.now();
    const res = await stack.api.request(`/v1/webhooks/${id}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ t: 'big-value-1', pad: 'é\u0000'.repeat(3000) });
    expect(res.headers.get('x-token')).toBe('big-value-1');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
