import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../support/flows';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Malformed or hostile input, sent over a real socket as any client would: every answer is a
 * 4xx in the documented shape `{ error: { code, message } }`, never a validator's dump, a
 * stack or a 5xx, and the process keeps serving.
 */
let stack: TestStack;
let server: LoopbackServer;
let base: string;
let flowId: string;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  server = await serveOnLoopback(stack.api.fetch);
  ({ base } = server);
  const created = await stack.call('POST', '/v1/flows', doubleFlow);
  flowId = ((await created.json()) as { id: string }).id;
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

const auth = () => ({ authorization: `Bearer ${stack.apiKey}` });

async function expectErrorShape(res: Response, status: number, code?: RegExp) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toEqual(expect.any(String));
  expect(body.error.message).toEqual(expect.any(String));
  if (code) expect(body.error.code).toMatch(code);
  // No zod dump, stack or driver text.
  expect(text).not.toMatch(
    /ZodError|"issues"\s*:\s*\[\s*\{\s*"code"|\bat \w+ \(|node_modules|Failed query/,
  );
  return body.error;
}

describe('bad path, query and header parameters', () => {
  it.each([
    ['a flow id over 100 characters', () => `/v1/webhooks/${'f'.repeat(101)}`, {}],
    [
      'an Idempotency-Key over 255 characters',
      () => `/v1/webhooks/${flowId}`,
      { 'idempotency-key': 'k'.repeat(256) },
    ],
    ['an empty Idempotency-Key', () => `/v1/webhooks/${flowId}`, { 'idempotency-key': '' }],
  ])('answers %s with 400 in the error shape', async (_what, path, headers) => {
    const res = await fetch(`${base}${path()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    });
    const error = await expectErrorShape(res, 400, /^invalid_request$/);
    expect(error.message).toMatch(/^invalid (param|header)/);
  });

  it.each([
    ['a webhook', () => `/v1/webhooks/a%00b`],
    ['a flow', () => `/v1/flows/flw%00x`],
    ['a run filter', () => `/v1/runs?flowId=%00`],
    ['a file', () => `/v1/files/%00`],
  ])('answers a NUL escape in the URL of %s with 400', async (_what, path) => {
    const res = await fetch(`${base}${path()}`, { headers: auth() });
    await expectErrorShape(res, 400, /^invalid_request$/);
  });

  it.each([
    ['a limit that is not a number', '/v1/runs?limit=lots'],
    ['a status that does not exist', '/v1/runs?status=exploded'],
    ['a cursor that is not one', '/v1/runs?cursor=%7B%7D'],
  ])('answers %s with 400 naming it', async (_what, path) => {
    const res = await fetch(`${base}${path}`, { headers: auth() });
    await expectErrorShape(res, 400);
  });
});

describe('JSON nested deeper than the documented depth', () => {
  const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const deepObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it.each([
    ['arrays 129 deep', deepArrays(129)],
    ['arrays 100000 deep', deepArrays(100_000)],
    ['objects 10000 deep', deepObjects(10_000)],
    ['brackets mixed 5000 deep', `${'[{"a":'.repeat(2500)}1${'}]'.repeat(2500)}`],
  ])('answers a webhook body of %s with 400', async (_what, body) => {
    const res = await fetch(`${base}/v1/webhooks/${flowId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const error = await expectErrorShape(res, 400, /^invalid_json$/);
    expect(error.message).toContain('deeper than 128');
  });

  it('accepts a webhook body exactly 128 deep, and brackets inside strings do not count', async () => {
    for (const body of [deepArrays(128), JSON.stringify({ s: '['.repeat(10_000) })]) {
      const res = await fetch(`${base}/v1/webhooks/${flowId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(202);
    }
  });

  it.each([
    ['a flow definition', 'POST', () => '/v1/flows'],
    ['a new flow version', 'PUT', () => `/v1/flows/${flowId}`],
  ])('answers %s nested 10000 deep with 400, not a stack overflow', async (_what, method, path) => {
    const body = `{"name":"deep","trigger":{"type":"webhook"},"steps":[{"id":"r","type":"respond","body":${deepObjects(10_000)}}]}`;
    const res = await fetch(`${base}${path()}`, {
      method,
      headers: { ...auth(), 'content-type': 'application/json' },
      body,
    });
    await expectErrorShape(res, 400, /^invalid_json$/);
  });
});

describe('requests without a body', () => {
  it('lets DELETE and POST actions through with no Content-Length, as curl and fetch send them', async () => {
    const created = await stack.call('POST', '/v1/flows', doubleFlow);
    const { id } = (await created.json()) as { id: string };
    const disable = await fetch(`${base}/v1/flows/${id}/disable`, {
      method: 'POST',
      headers: auth(),
    });
    expect(disable.status).toBe(200);
    const remove = await fetch(`${base}/v1/flows/${id}`, { method: 'DELETE', headers: auth() });
    expect(remove.status).toBe(204);
  });

  it('still answers 415 for a body that is not JSON', async () => {
    const res = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: 'name=x',
    });
    await expectErrorShape(res, 415, /^unsupported_media_type$/);
  });
});

describe('answers carry a request id', () => {
  it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
    const given = await fetch(`${base}/v1/health`, { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const made = await fetch(`${base}/v1/health`, {
      headers: { 'x-request-id': 'bad id\twith tab' },
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
