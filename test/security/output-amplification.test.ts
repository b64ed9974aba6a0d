import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowOverHttp } from '../support/flows-over-http';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A template copies a value, so a few bytes of flow definition can place a caller's large
 * field many times over in one respond step's output. The output cap must hold before that
 * output is built: serialising it first took hundreds of MB of worker memory, and past V8's
 * longest string (about 512 Mi characters) the run ended as "an internal error", not
 * `limit_exceeded`.
 */
let stack: TestStack;
let server: LoopbackServer;
let base: string;

beforeAll(async () => {
  stack = await startTestStack();
  server = await serveOnLoopback(stack.api.fetch);
  ({ base } = server);
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

describe('a respond step whose templates repeat one large value', () => {
  it('ends the run limit_exceeded naming the output cap, without building the output', async () => {
    const headers = { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' };
    // 48 copies of 12 MiB: 576 Mi characters of JSON, past V8's string limit.
    const flowId = await createFlowOverHttp(base, headers, {
      name: 'amplified',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', body: Array(48).fill('{{trigger.body.s}}') }],
    });
    const res = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ s: 'x'.repeat(12 * 1024 * 1024) }),
    });
    expect(res.status).toBe(500);
    const answer = (await res.json()) as { status: string; error: string; failedStep: string };
    expect(answer).toMatchObject({ status: 'limit_exceeded', failedStep: 'reply' });
    expect(answer.error).toContain('maxStepOutputBytes');
    // Sending and parsing 12 MiB twice takes about 3.5 s alone, past vitest's 5 s default on a
    // busy box.
  }, 30_000);
});
