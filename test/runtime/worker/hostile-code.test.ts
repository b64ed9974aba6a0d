import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFlow, doubleFlow } from '../../support/flows';
import { type HttpStub, startHttpStub } from '../../support/http-stub';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
let healthyFlowId: string;

beforeAll(async () => {
  stack = await startTestStack({
    // Long enough that the memory bomb always hits the memory cap first, even on a busy machine.
    SLUICE_CODE_TIMEOUT_MS: '1500',
    SLUICE_CODE_MEMORY_MB: '16',
    // The default policy: private, loopback and link-local addresses are refused.
    SLUICE_HTTP_ALLOW_PRIVATE: 'false',
  });
  healthyFlowId = await createFlow(doubleFlow);
});
afterAll(() => stack.close());

async function createFlow(definition: unknown): Promise<string> {
  const res = await stack.call('POST', '/v1/flows', definition);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const sync = (flowId: string, body: unknown) =>
  stack.api.request(`/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('a code step that misbehaves', () => {
  it.each([
    ['throws', "export default () => { throw new Error('kaput') }", /kaput/],
    ['loops forever', 'export default () => { for (;;) {} }', /longer than .*1500 ms/],
    [
      'allocates without bound',
      'export default () => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }',
      /memory/i,
    ],
    ['reads process.env', 'export default () => process.env', /process/],
    [
      'requires fs',
      "export default () => require('fs').readFileSync('/etc/passwd', 'utf8')",
      /require/,
    ],
    [
      'fetches the network',
      "export default async () => (await fetch('http://127.0.0.1')).status",
      /fetch/,
    ],
  ])(
    '%s: the run fails with a clear error and the worker runs the next job',
    async (_case, code, error) => {
      const flowId = await createFlow(codeFlow(code));
      const res = await sync(flowId, {});
      expect(res.status).toBe(500);
      const body = (await res.json()) as { status: string; error: string; failedStep: string };
      expect(body.failedStep).toBe('main');
      expect(body.error).toMatch(error);

      const next = await sync(healthyFlowId, { n: 4 });
      expect(next.status).toBe(201);
      expect(await next.json()).toEqual({ doubled: 8 });
    },
  );
});

describe('an http step to a forbidden address', () => {
  // Live targets on loopback: a guard that let the step through would reach them, where a
  // closed port would fail with ECONNREFUSED and look like a refusal.
  let v4: HttpStub;
  let v6: HttpStub;
  beforeAll(async () => {
    [v4, v6] = await Promise.all([startHttpStub(), startHttpStub(undefined, { host: '::1' })]);
  });
  afterAll(async () => {
    await Promise.all([v4?.close(), v6?.close()]);
  });
  const portOf = (stub: HttpStub) => new URL(stub.url).port;

  async function refusal(url: string) {
    const flowId = await createFlow({
      name: 'ssrf',
      trigger: { type: 'webhook' },
      steps: [{ id: 'grab', type: 'http', method: 'GET', url }],
    });
    const res = await sync(flowId, {});
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; failedStep: string };
    expect(body.failedStep).toBe('grab');
    return body.error;
  }

  it.each([
    ['127.0.0.1', () => `${v4.url}/`, /refused to connect to 127\.0\.0\.1 \(loopback address\)/],
    ['[::1]', () => `${v6.url}/`, /refused to connect to ::1 \(loopback address\)/],
    [
      'localhost',
      () => `http://localhost:${portOf(v4)}/`,
      /refused to connect to localhost at (127\.0\.0\.1|::1) \(loopback address\)/,
    ],
  ])('refuses a loopback target (%s) before sending it anything', async (_host, url, reason) => {
    expect(await refusal(url())).toMatch(reason);
    expect(v4.requests).toEqual([]);
    expect(v6.requests).toEqual([]);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'to 169.254.169.254 (metadata address)'],
    ['http://169.254.170.2/v2/credentials', 'to 169.254.170.2 (metadata address)'],
    ['http://10.0.0.1/', 'to 10.0.0.1 (private address)'],
  ])('refuses %s by its address, without dialling it', async (url, reason) => {
    expect(await refusal(url)).toContain(`refused to connect ${reason}`);
  });
});
