import { afterAll, describe, expect, it } from 'vitest';
import {
  createFlowRunner,
  type FlowDefinition,
  parseFlowDefinition,
} from '../../../runtime/engine';
import { failure, flowOf, later, respondStep, succeeded, triggerOf } from './flow-fixtures';

const definition = (step: Record<string, unknown>) => ({
  name: 'respond',
  trigger: { type: 'webhook' },
  steps: [{ id: 'reply', type: 'respond', body: {}, ...step }],
});

function issuesOf(step: Record<string, unknown>) {
  const parsed = parseFlowDefinition(definition(step));
  if (parsed.ok) throw new Error('expected the definition to be invalid');
  return parsed.issues;
}

describe('respond step headers and status at validation', () => {
  it.each([
    'content-length',
    'Content-Length',
    'transfer-encoding',
    'connection',
    'upgrade',
    'keep-alive',
    'te',
    'trailer',
    'proxy-authenticate',
    'Proxy-Connection',
    'set-cookie',
    'SET-COOKIE',
    'host',
    'content-encoding',
    'strict-transport-security',
    'clear-site-data',
    'NEL',
    'report-to',
  ])(
    'refuses the framing, connection, cookie or origin-wide header %s, naming step and header',
    (name) => {
      const issues = issuesOf({ headers: { [name]: '1' } });
      expect(issues).toEqual([
        {
          path: `steps[0].headers.${name}`,
          message: expect.stringMatching(
            new RegExp(`^respond step "reply": header "${name.toLowerCase()}" is set by Sluice`),
          ),
        },
      ]);
    },
  );

  it.each([
    ['a name that is not a token', { 'bad name': 'x' }, 'is not a valid header name'],
    ['a CR LF', { 'x-a': 'one\r\nset-cookie: a=b' }, 'holds a character a header value cannot'],
    ['a NUL', { 'x-a': 'nul\u0000' }, 'holds a character'],
    ['a character beyond U+00FF', { 'x-a': 'wide \u2603' }, 'holds a character'],
    ['a name given twice', { 'x-a': '1', 'X-A': '2' }, 'is given twice'],
    [
      'a content-type that is not JSON',
      { 'content-type': 'text/html' },
      'must be a JSON media type',
    ],
    [
      'two content-types',
      { 'Content-Type': 'application/json', 'content-type': 'application/json' },
      'given twice',
    ],
    ['an oversized value', { 'x-long': 'a'.repeat(8193) }, 'longer than 8192'],
    [
      'values that together pass 15 KiB, though each fits',
      { 'x-one': 'a'.repeat(8000), 'x-two': 'b'.repeat(8000) },
      'headers take 16018 bytes, over 15360',
    ],
    ['an oversized name', { [`x-${'n'.repeat(16_000)}`]: '1' }, 'over 15360'],
  ])('refuses a header with %s', (_what, headers, message) => {
    const issues = issuesOf({ headers });
    expect(issues[0]?.message).toContain(message);
  });

  it.each([100, 101, 199, 600, 1000, 204.5, -1])('refuses status %j', (status) => {
    expect(issuesOf({ status })[0]?.path).toBe('steps[0].status');
  });

  it('accepts ordinary headers, a JSON content type and a templated value', () => {
    const parsed = parseFlowDefinition(
      definition({
        status: 201,
        headers: {
          'x-request': '{{trigger.body.id}}',
          'content-type': 'application/problem+json',
          'cache-control': 'no-store',
        },
      }),
    );
    expect(parsed.ok).toBe(true);
  });
});

describe('respond step headers and status at run time', () => {
  const runner = createFlowRunner();
  afterAll(() => runner.dispose());
  const run = (step: Parameters<typeof respondStep>[0], body: unknown) =>
    runner.run(flowOf([respondStep(step)]), triggerOf(body), later());

  it.each([
    ['a line break', 'a\r\nset-cookie: session=stolen'],
    ['a character beyond U+00FF', 'snow \u2603'],
    ['an unpaired surrogate', 'half \ud800'],
    ['a NUL', 'nul \u0000'],
  ])('fails the run when a templated header value holds %s', async (_what, value) => {
    const outcome = failure(
      await run({ headers: { 'x-echo': '{{trigger.body.v}}' } }, { v: value }),
    );
    expect(outcome.error).toContain('header "x-echo" holds a character');
    expect(outcome.failedStep).toBe('reply');
  });

  it.each([101, 100, 600, 99, 'abc', 200.5])(
    'fails the run when a templated status is %j',
    async (code) => {
      const outcome = failure(await run({ status: '{{trigger.body.code}}' }, { code }));
      expect(outcome.error).toContain('status must be an integer from 200 to 599');
    },
  );

  it('fails the run naming only the start of an oversized templated status', async () => {
    const outcome = failure(
      await run({ status: '{{trigger.body.code}}' }, { code: { a: 'x'.repeat(100_000) } }),
    );
    expect(outcome.error).toMatch(/^status must be an integer from 200 to 599 \(got \{"a":"x+…\)$/);
    expect(outcome.error.length).toBeLessThan(200);
  });

  it('refuses a framing header in a definition stored before the check existed', async () => {
    const stored = {
      name: 'stored-earlier',
      trigger: { type: 'webhook' },
      steps: [respondStep({ headers: { 'Content-Length': '0' } })],
    } as FlowDefinition; // as read back from an old flow version, never re-validated
    const outcome = failure(await runner.run(stored, triggerOf({}), later()));
    expect(outcome.error).toContain('header "content-length" is set by Sluice');
  });

  it('fails the run when templated values together pass 15 KiB of headers', async () => {
    const outcome = failure(
      await run(
        { headers: { 'x-one': '{{trigger.body.v}}', 'x-two': '{{trigger.body.v}}' } },
        { v: 'a'.repeat(8000) },
      ),
    );
    expect(outcome.error).toContain('headers take 16018 bytes, over 15360');
    expect(outcome.failedStep).toBe('reply');
  });

  it('sends a templated value that is a valid header', async () => {
    const outcome = succeeded(
      await run({ headers: { 'x-echo': '{{trigger.body.v}}' } }, { v: 'ok 1' }),
    );
    expect(outcome.response.headers).toEqual({ 'x-echo': 'ok 1' });
  });
});
