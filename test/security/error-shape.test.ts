import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../support/flows';
import { acceptRunOverHttp } from '../support/flows-over-http';
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

  const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    ['an id with NUL', '2026-12-04T17:23:51.482Z|a\u0000b'],
    ['year 0, which PostgreSQL has not', '0000-01-01T00:00:00.000Z|x'],
    ['a year past 9999', '+275760-09-13T00:00:00.000Z|x'],
    ['a year before 0', '-271821-04-20T00:00:00.000Z|x'],
    ['an instant not written as nextCursor writes it', '2026-12-04|x'],
    ['a third part', '2026-12-04T17:23:51.482Z|x|y'],
    ['no id', '2026-12-04T17:23:51.482Z|'],
  ])(
    'answers a crafted cursor with %s with 400, not a query PostgreSQL refuses',
    async (_what, text) => {
      const res = await fetch(`${base}/v1/runs?cursor=${cursorOf(text)}`, { headers: auth() });
      const error = await expectErrorShape(res, 400, /^invalid_request$/);
      expect(error.message).toBe('invalid query: cursor: not a cursor from nextCursor');
    },
  );

  it('takes back a cursor that nextCursor wrote', async () => {
    const first = await fetch(`${base}/v1/runs?limit=1`, { headers: auth() });
    expect(first.status).toBe(200);
    const cursor = cursorOf('2026-12-04T17:23:51.482Z|00000000-0000-4000-8000-000000000000');
    const next = await fetch(`${base}/v1/runs?cursor=${cursor}`, { headers: auth() });
    expect(next.status).toBe(200);
  });
});

describe('bulk replay filters PostgreSQL would refuse', () => {
  it.each([
    ['a flowId with NUL', { flowId: 'a\u0000' }, 'flowId: contains \\u0000 (NUL)'],
    ['a flowId with an unpaired surrogate', { flowId: 'a\ud800' }, 'flowId: contains an unpaired'],
    [
      'createdFrom in year 0',
      { createdFrom: '0000-01-01T00:00:00Z' },
      'createdFrom: must be between',
    ],
    [
      'createdFrom in year 1 whose offset puts it in year 0',
      { createdFrom: '0001-01-01T00:00:00+01:00' },
      'createdFrom: must be between',
    ],
    ['createdTo in year 0', { createdTo: '0000-06-01T00:00:00Z' }, 'createdTo: must be between'],
  ])('answers %s with 400 naming the field', async (_what, body, message) => {
    const res = await fetch(`${base}/v1/runs/replay`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const error = await expectErrorShape(res, 400, /^invalid_request$/);
    expect(error.message).toContain(message);
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

describe('a code step longer than its limit', () => {
  it('is refused with 400 naming the step, before V8 parses it', async () => {
    const code = `export default () => 1; //${'x'.repeat(2 ** 20)}`;
    const res = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'long',
        trigger: { type: 'webhook' },
        steps: [{ id: 'c', type: 'code', code }],
      }),
    });
    const error = await expectErrorShape(res, 400, /^invalid_request$/);
    expect(error.message).toContain('steps[0].code: code must be at most 1048576 characters');
  });
});

describe('replay bodies', () => {
  const replayPaths = [
    ['one run', '/v1/runs/00000000-0000-4000-8000-000000000000/replay'],
    ['a filter', '/v1/runs/replay'],
  ];

  it.each(replayPaths)(
    'answers JSON 10000 deep for %s with 400 before parsing it',
    async (_what, path) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      });
      const error = await expectErrorShape(res, 400, /^invalid_json$/);
      expect(error.message).toContain('deeper than 128');
    },
  );

  it.each(replayPaths)(
    'answers a body that is not JSON for %s with 415 naming the type',
    async (_what, path) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'text/plain' },
        body: '{}',
      });
      const error = await expectErrorShape(res, 415, /^unsupported_media_type$/);
      expect(error.message).toBe('content-type must be application/json (got "text/plain")');
    },
  );
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

describe('run actions whose body is optional or unused', () => {
  /** A queued run of its own (this stack has no worker, so it stays queued). */
  const queuedRun = () => acceptRunOverHttp(base, flowId);
  /** An empty chunked body: no Content-Length, one zero-length chunk. */
  const chunkedEmpty = () => ({
    body: new ReadableStream({ start: (controller) => controller.close() }),
    duplex: 'half' as const,
  });

  it.each([
    ['no body', {}],
    ['an empty JSON body', { headers: { 'content-type': 'application/json' }, body: '' }],
    [
      "curl -d '' (an empty form body)",
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' },
    ],
    ['a chunked empty body', chunkedEmpty()],
    [
      'a JSON body',
      { headers: { 'content-type': 'application/json' }, body: '{"version":"same"}' },
    ],
  ])('replays a run sent %s', async (_what, init) => {
    const runId = await queuedRun();
    const res = await fetch(`${base}/v1/runs/${runId}/replay`, {
      method: 'POST',
      ...init,
      headers: { ...auth(), ...('headers' in init ? init.headers : {}) },
    });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    expect(JSON.parse(text)).toMatchObject({ replayOf: runId, runId: expect.any(String) });
  });

  it('cancels a run sent no body, an empty one or JSON, and refuses any other body', async () => {
    for (const init of [
      {},
      { headers: { 'content-type': 'application/json' }, body: '' },
      chunkedEmpty(),
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    ]) {
      const runId = await queuedRun();
      const res = await fetch(`${base}/v1/runs/${runId}/cancel`, {
        method: 'POST',
        ...init,
        headers: { ...auth(), ...('headers' in init ? init.headers : {}) },
      });
      expect(res.status, await res.text()).toBe(202);
    }
    const runId = await queuedRun();
    const text = await fetch(`${base}/v1/runs/${runId}/cancel`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: 'hello',
    });
    await expectErrorShape(text, 415, /^unsupported_media_type$/);
    const deep = await fetch(`${base}/v1/runs/${runId}/cancel`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    });
    await expectErrorShape(deep, 400, /^invalid_json$/);
    // Neither refused body canceled the run.
    const run = (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as {
      status: string;
    };
    expect(run.status).toBe('queued');
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
