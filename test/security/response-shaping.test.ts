import { connect } from 'node:net';
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

/** Writes `requests` to one new connection; answers what came back once `until` has arrived. */
function exchangeOnOneConnection(requests: string, until: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer in 10 s: ${JSON.stringify(received)}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes(until)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    });
    socket.on('error', reject);
    // One byte a character both ways, so a test can send and read bytes beyond ASCII.
    socket.write(requests, 'latin1');
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
    // A reporting policy binds the whole origin: the browser then reports the console pages
    // (and other projects' flow ids in their URLs) a user visits to the flow's endpoint.
    ['NEL', '{"report_to":"flow","max_age":31536000,"success_fraction":1}'],
    ['Report-To', '{"group":"flow","max_age":31536000,"endpoints":[{"url":"https://x.test"}]}'],
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

  it("refuses headers a caller's HTTP client could not read, though each value fits", async () => {
    // Node's parser (fetch included) reads at most 16 KiB of head, an ALB 32 KB of response
    // headers: two 8,000-character values each pass the per-value bound but not together.
    const two = { 'x-one': 'a'.repeat(8000), 'x-two': 'b'.repeat(8000) };
    const refused = await saveFlow(respondFlow({ headers: two }));
    expect(refused.status).toBe(400);
    const { error } = (await refused.json()) as { error: { message: string } };
    expect(error.message).toContain('respond step "reply": headers take 16018 bytes');

    const templated = { 'x-one': '{{trigger.body.v}}', 'x-two': '{{trigger.body.v}}' };
    const { id } = (await (await saveFlow(respondFlow({ headers: templated }))).json()) as {
      id: string;
    };
    const res = await callSync(id, { v: 'a'.repeat(8000) });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      status: 'failed',
      failedStep: 'reply',
      error: expect.stringContaining('over 15360'),
    });
  });

  it("keeps a caller's oversized status out of the run's error, which every run list shows", async () => {
    const { id } = (await (
      await saveFlow(respondFlow({ status: '{{trigger.body.v}}' }))
    ).json()) as { id: string };
    const res = await callSync(id, { v: 'x'.repeat(500_000) });
    expect(res.status).toBe(500);
    const { runId, error } = (await res.json()) as { runId: string; error: string };
    expect(error).toMatch(/^status must be an integer from 200 to 599 \(got "x{50,}…\)$/);
    expect(error.length).toBeLessThan(200);
    const run = await fetch(`${base}/v1/runs/${runId}`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(((await run.json()) as { error: string }).error).toBe(error);
  });

  it.each([204, 205, 304])(
    'answers status %i with no content, keeping the connection framed for the next answer',
    async (status) => {
      const res0 = await saveFlow(respondFlow({ status, headers: { 'x-kept': 'yes' } }));
      const { id } = (await res0.json()) as { id: string };
      // The sync answer and a second request's answer, down one keep-alive connection.
      const raw = await exchangeOnOneConnection(
        `POST /v1/webhooks/${id}/sync HTTP/1.1\r\nHost: sluice\r\n` +
          'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' +
          'GET /v1/health HTTP/1.1\r\nHost: sluice\r\n\r\n',
        '"status":"ok"',
      );
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head).toMatch(/\r\nx-kept: yes\r\n/i);
      expect(head).not.toMatch(/\r\ncontent-length: *[1-9]/i);
      if (status === 204) expect(head).not.toMatch(/\r\ncontent-length:/i);
      // Nothing between the two answers: a body the first one's framing did not announce, or
      // one it announced and left out, would shift every later answer on the connection.
      const following = rest.join('\r\n\r\n');
      const content = /\r\ntransfer-encoding: chunked/i.test(head)
        ? following.replace(/^0\r\n\r\n/, '') // the empty chunked body that a 205 may have
        : following;
      expect(content).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).not.toMatch(/\r\ncontent-type:/i);
    },
  );

  it.each([200, 204])(
    'sends header text up to U+00FF as one Latin-1 byte a character, with status %i',
    async (status) => {
      const headers = { 'x-name': 'café', 'x-echo': '{{trigger.body.v}}' };
      const { id } = (await (await saveFlow(respondFlow({ status, headers }))).json()) as {
        id: string;
      };
      const body = Buffer.from(JSON.stringify({ v: 'ÿes ±' }));
      const raw = await exchangeOnOneConnection(
        `POST /v1/webhooks/${id}/sync HTTP/1.1\r\nHost: sluice\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
          `${body.toString('latin1')}GET /v1/health HTTP/1.1\r\nHost: sluice\r\n\r\n`,
        '"status":"ok"',
      );
      // Read as Latin-1: a character sent as its UTF-8 bytes would read as two ("cafÃ©").
      const [head = ''] = raw.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head).toContain('\r\nx-name: café\r\n');
      expect(head).toContain('\r\nx-echo: ÿes ±\r\n');
      expect(raw).toMatch(/\r\n\r\n(\{"ok":true\})?HTTP\/1\.1 200 OK\r\n/);
      // What fetch, which reads header bytes as Latin-1, hands its caller.
      const res = await callSync(id, { v: 'ÿes ±' });
      expect(res.headers.get('x-name')).toBe('café');
      expect(res.headers.get('x-echo')).toBe('ÿes ±');
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
