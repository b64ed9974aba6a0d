import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A flow shapes the sync webhook's answer with its respond step, and the caller (or a header
 * value copied from the caller's input) is untrusted. Over a real socket: no flow can frame,
 * re-route or set cookies on the shared origin, and a bad value computed at run time becomes
 * the usual JSON 500, never a plain-text one or a broken message.
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

const respondFlow = (respond: Record<string, unknown>) => ({
  name: 'shaped',
  trigger: { type: 'webhook' },
  steps: [{ id: 'reply', type: 'respond', body: { ok: true }, ...respond }],
});

async function saveFlow(definition: unknown) {
  return fetch(`${base}/v1/flows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(definition),
  });
}

async function callSync(flowId: string, body: unknown) {
  return fetch(`${base}/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('respond steps over a real socket', () => {
  it.each([
    ['Content-Length', '0'],
    ['Transfer-Encoding', 'chunked'],
    ['Connection', 'close'],
    ['Upgrade', 'websocket'],
    ['Set-Cookie', 'session=planted; Path=/'],
    ['Proxy-Authenticate', 'Basic'],
    ['Strict-Transport-Security', 'max-age=63072000'],
  ])('refuses to save a flow setting %s, naming the step and header', async (name, value) => {
    const res = await saveFlow(respondFlow({ headers: { [name]: value } }));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.message).toContain(`respond step "reply": header "${name.toLowerCase()}"`);
  });

  it.each([101, 100, 199, 600])('refuses to save a flow answering status %i', async (status) => {
    expect((await saveFlow(respondFlow({ status }))).status).toBe(400);
  });

  it.each([
    [
      'a header value with CR LF',
      { 'x-echo': '{{trigger.body.v}}' },
      {},
      { v: 'a\r\nset-cookie: x=1' },
    ],
    ['a status of 101', {}, { status: '{{trigger.body.v}}' }, { v: 101 }],
    ['a status of 0', {}, { status: '{{trigger.body.v}}' }, { v: 0 }],
  ])(
    'answers the usual JSON 500 when the caller makes the response %s',
    async (_what, headers, extra, body) => {
      const res0 = await saveFlow(respondFlow({ headers, ...extra }));
      const { id } = (await res0.json()) as { id: string };
      const res = await callSync(id, body);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toMatchObject({ status: 'failed', failedStep: 'reply' });
    },
  );

  it("lets a flow's JSON content type replace Sluice's, leaving one content-type header", async () => {
    const res0 = await saveFlow(
      respondFlow({
        status: 422,
        headers: { 'Content-Type': 'application/problem+json', 'x-kept': 'yes' },
      }),
    );
    const { id } = (await res0.json()) as { id: string };
    const res = await callSync(id, {});
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-kept')).toBe('yes');
    expect(await res.json()).toEqual({ ok: true });
  });
});
