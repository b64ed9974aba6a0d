import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFlow, doubleFlow } from '../../support/flows';
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
  it.each([
    'http://127.0.0.1:9/',
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.170.2/v2/credentials',
    'http://10.0.0.1/',
    'http://[::1]:9/',
    'http://localhost:9/',
  ])('refuses %s', async (url) => {
    const flowId = await createFlow({
      name: 'ssrf',
      trigger: { type: 'webhook' },
      steps: [{ id: 'grab', type: 'http', method: 'GET', url }],
    });
    const res = await sync(flowId, {});
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; failedStep: string };
    expect(body.failedStep).toBe('grab');
    expect(body.error).toMatch(/blocked|refused|not allowed|forbidden/i);
  });
});
