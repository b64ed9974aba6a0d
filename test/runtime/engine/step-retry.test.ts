import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFlowRunner, parseFlowDefinition } from '../../../runtime/engine';
import { retryAfterMs } from '../../../runtime/engine/retry-after';
import { type RetryPolicy, retrySchema } from '../../../runtime/engine/retry-schema';
import { retryDelayMs } from '../../../runtime/engine/step-retry';
import type { StepLogEntry } from '../../../runtime/engine/types';
import { failure, flowOf, later, succeeded, triggerOf } from './flow-fixtures';
import { type StubServer, startStubServer } from './stub-server';

const policy = (fields: Partial<RetryPolicy>): RetryPolicy => retrySchema.parse(fields);

describe('retryDelayMs', () => {
  it('waits delayMs each time when fixed, and doubles it up to maxDelayMs when exponential', () => {
    const fixed = policy({ attempts: 5, backoff: 'fixed', delayMs: 100 });
    expect([1, 2, 3].map((n) => retryDelayMs(fixed, n, null))).toEqual([100, 100, 100]);
    const exponential = policy({ attempts: 6, delayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(exponential, n, null))).toEqual([
      100, 200, 400, 500, 500,
    ]);
  });

  it('spreads a jittered wait over its upper half', () => {
    const jittered = policy({ attempts: 3, backoff: 'fixed', delayMs: 1000, jitter: true });
    expect(retryDelayMs(jittered, 1, null, () => 0)).toBe(500);
    expect(retryDelayMs(jittered, 1, null, () => 0.999999)).toBe(1000);
  });

  it("takes the server's Retry-After, capped at maxDelayMs", () => {
    const retry = policy({ attempts: 3, delayMs: 10, maxDelayMs: 2000 });
    expect(retryDelayMs(retry, 1, 1500)).toBe(1500);
    expect(retryDelayMs(retry, 1, 30_000)).toBe(2000);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and an HTTP date, and nothing else', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 03 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Thu, 03 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs('-1', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('retry in a flow definition', () => {
  const issuesOf = (retry: unknown, type: 'http' | 'code' = 'http') => {
    const step =
      type === 'http'
        ? { id: 'call', type, method: 'GET', url: 'https://example.com', retry }
        : { id: 'call', type, code: 'export default () => 1', retry };
    const parsed = parseFlowDefinition({ name: 'f', trigger: { type: 'webhook' }, steps: [step] });
    return parsed.ok ? [] : parsed.issues.map((issue) => issue.path);
  };

  it('refuses each bad field, naming it', () => {
    expect(issuesOf({ attempts: 0 })).toEqual(['steps[0].retry.attempts']);
    expect(issuesOf({ attempts: 11 })).toEqual(['steps[0].retry.attempts']);
    expect(issuesOf({ attempts: 2.5 })).toEqual(['steps[0].retry.attempts']);
    expect(issuesOf({})).toEqual(['steps[0].retry.attempts']);
    expect(issuesOf({ attempts: 3, backoff: 'linear' })).toEqual(['steps[0].retry.backoff']);
    expect(issuesOf({ attempts: 3, delayMs: -1 })).toEqual(['steps[0].retry.delayMs']);
    expect(issuesOf({ attempts: 3, delayMs: 60_001 }, 'code')[0]).toBe('steps[0].retry.delayMs');
    expect(issuesOf({ attempts: 3, maxDelayMs: 120_000 })).toEqual(['steps[0].retry.maxDelayMs']);
    expect(issuesOf({ attempts: 3, delayMs: 500, maxDelayMs: 100 })).toEqual([
      'steps[0].retry.maxDelayMs',
    ]);
    expect(issuesOf({ attempts: 3, jitter: 'yes' })).toEqual(['steps[0].retry.jitter']);
    expect(issuesOf({ attempts: 3, tries: 4 })).toEqual(['steps[0].retry']);
    expect(issuesOf('always')).toEqual(['steps[0].retry']);
  });

  it('is refused on steps other than http and code', () => {
    const parsed = parseFlowDefinition({
      name: 'f',
      trigger: { type: 'webhook' },
      steps: [{ id: 'reply', type: 'respond', retry: { attempts: 2 } }],
    });
    expect(parsed.ok).toBe(false);
  });
});

describe('http steps with retry, against a stub that fails N times', () => {
  const runner = createFlowRunner({ allowPrivateNetwork: true, httpTimeoutMs: 2000 });
  let stub: StubServer;
  /** What the stub answers next, in order; then 200. */
  let script: { status: number; headers?: Record<string, string> }[] = [];
  const arrivals: number[] = [];

  beforeAll(async () => {
    stub = await startStubServer((request, response) => {
      arrivals.push(performance.now());
      if (new URL(request.url, 'http://stub').pathname === '/hang') return;
      const next = script.shift() ?? { status: 200 };
      response.statusCode = next.status;
      for (const [name, value] of Object.entries(next.headers ?? {})) {
        response.setHeader(name, value);
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ status: next.status }));
    });
  });
  afterEach(() => {
    script = [];
    arrivals.length = 0;
  });
  afterAll(async () => {
    await stub.close();
    await runner.dispose();
  });

  const call = (retry: Record<string, unknown>, fields: Record<string, unknown> = {}) =>
    flowOf([{ id: 'call', type: 'http', method: 'GET', url: `${stub.origin}/`, retry, ...fields }]);
  const attemptsOf = (log: StepLogEntry[]) => log[0]?.attempts ?? [];
  const gaps = () => arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? at));

  it('retries 5xx and 429 until the stub answers, recording each attempt', async () => {
    script = [{ status: 503 }, { status: 429 }, { status: 500 }];
    const outcome = succeeded(
      await runner.run(
        call({ attempts: 4, backoff: 'fixed', delayMs: 20 }),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome.response.body).toMatchObject({ body: { status: 200 } });
    const attempts = attemptsOf(outcome.log);
    expect(attempts.map((attempt) => attempt.error ?? 'ok')).toEqual([
      expect.stringContaining('answered 503'),
      expect.stringContaining('answered 429'),
      expect.stringContaining('answered 500'),
      'ok',
    ]);
    for (const attempt of attempts) {
      expect(Date.parse(attempt.startedAt)).not.toBeNaN();
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(arrivals).toHaveLength(4);
  });

  it('fails with the last error once the attempts are spent', async () => {
    script = [{ status: 502 }, { status: 502 }, { status: 503 }];
    const outcome = failure(
      await runner.run(
        call({ attempts: 3, backoff: 'fixed', delayMs: 0 }),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome).toMatchObject({ status: 'failed', failedStep: 'call' });
    expect(outcome.error).toContain('answered 503');
    expect(attemptsOf(outcome.log)).toHaveLength(3);
  });

  it('never retries another 4xx', async () => {
    script = [{ status: 404 }, { status: 200 }];
    const outcome = failure(
      await runner.run(call({ attempts: 5, delayMs: 0 }), triggerOf(null), later()),
    );
    expect(outcome.error).toContain('answered 404');
    expect(arrivals).toHaveLength(1);
    expect(attemptsOf(outcome.log)).toHaveLength(1);
  });

  it('waits exponentially longer between attempts', async () => {
    script = [{ status: 500 }, { status: 500 }, { status: 500 }];
    succeeded(
      await runner.run(
        call({ attempts: 4, backoff: 'exponential', delayMs: 60, maxDelayMs: 1000 }),
        triggerOf(null),
        later(),
      ),
    );
    const [first, second, third] = gaps();
    expect(first).toBeGreaterThanOrEqual(55);
    expect(second).toBeGreaterThanOrEqual(115);
    expect(third).toBeGreaterThanOrEqual(235);
  });

  it('honours Retry-After, capped at maxDelayMs', async () => {
    script = [{ status: 429, headers: { 'retry-after': '1' } }];
    succeeded(
      await runner.run(
        call({ attempts: 2, delayMs: 10, maxDelayMs: 5000 }),
        triggerOf(null),
        later(),
      ),
    );
    expect(gaps()[0]).toBeGreaterThanOrEqual(990);
    arrivals.length = 0;
    script = [{ status: 503, headers: { 'retry-after': '120' } }];
    succeeded(
      await runner.run(
        call({ attempts: 2, delayMs: 10, maxDelayMs: 150 }),
        triggerOf(null),
        later(),
      ),
    );
    expect(gaps()[0]).toBeGreaterThanOrEqual(145);
    expect(gaps()[0]).toBeLessThan(900);
  });

  it('retries a timeout and a refused connection', async () => {
    const timedOut = failure(
      await runner.run(
        flowOf([
          {
            id: 'call',
            type: 'http',
            method: 'GET',
            url: `${stub.origin}/hang`,
            timeoutMs: 50,
            retry: { attempts: 3, delayMs: 0 },
          },
        ]),
        triggerOf(null),
        later(),
      ),
    );
    expect(attemptsOf(timedOut.log).map((attempt) => attempt.error)).toEqual([
      expect.stringContaining('timed out'),
      expect.stringContaining('timed out'),
      expect.stringContaining('timed out'),
    ]);
    const closed = await startStubServer(() => {});
    const closedUrl = `${closed.origin}/`;
    await closed.close();
    const refused = failure(
      await runner.run(
        flowOf([
          {
            id: 'call',
            type: 'http',
            method: 'GET',
            url: closedUrl,
            retry: { attempts: 2, delayMs: 0 },
          },
        ]),
        triggerOf(null),
        later(),
      ),
    );
    expect(attemptsOf(refused.log)).toHaveLength(2);
    expect(refused.error).toContain('request failed');
  });

  it('does not wait past the flow deadline', async () => {
    script = [{ status: 503 }, { status: 503 }];
    const started = performance.now();
    const outcome = failure(
      await runner.run(call({ attempts: 3, delayMs: 5000 }), triggerOf(null), later(1000)),
    );
    expect(performance.now() - started).toBeLessThan(900);
    expect(outcome.error).toContain('would pass the flow deadline');
    expect(arrivals).toHaveLength(1);
  });

  it('stops waiting at once when the run is aborted (a cancel)', async () => {
    script = [{ status: 503 }];
    const abort = new AbortController();
    const started = performance.now();
    const running = runner.run(call({ attempts: 2, delayMs: 10_000 }), triggerOf(null), {
      ...later(),
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(new Error('canceled')), 100);
    const outcome = failure(await running);
    expect(outcome.status).toBe('timed_out');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(arrivals).toHaveLength(1);
  });
});

describe('code steps with retry', () => {
  const runner = createFlowRunner({ codeTimeoutMs: 200, codeMemoryMb: 16 });
  afterAll(() => runner.dispose());

  it('retries a throw until the code succeeds', async () => {
    // Throws on its first two tries (a run's steps share one context), then succeeds.
    const flow = flowOf([
      {
        id: 'calc',
        type: 'code',
        code: `export default () => {
          globalThis.tries = (globalThis.tries ?? 0) + 1;
          if (globalThis.tries < 3) throw new Error('not yet');
          return { ok: true };
        }`,
        retry: { attempts: 5, backoff: 'fixed', delayMs: 100 },
      },
    ]);
    // A cap no try comes near, even one that makes the isolate on a loaded box.
    const roomy = createFlowRunner({ codeTimeoutMs: 10_000, codeMemoryMb: 16 });
    try {
      const outcome = succeeded(await roomy.run(flow, triggerOf(null), later()));
      const attempts = outcome.log[0]?.attempts ?? [];
      expect(attempts.map((attempt) => attempt.error)).toEqual([
        expect.stringContaining('not yet'),
        expect.stringContaining('not yet'),
        undefined,
      ]);
    } finally {
      await roomy.dispose();
    }
  });

  it.each([
    ['time', 'export default () => { while (true) {} }'],
    [
      'memory',
      "export default () => { const a = []; while (true) a.push('x'.repeat(1e6) + Math.random()); }",
    ],
  ])('never retries the %s cap', async (_cap, code) => {
    const outcome = failure(
      await runner.run(
        flowOf([{ id: 'capped', type: 'code', code, retry: { attempts: 3, delayMs: 0 } }]),
        triggerOf(null),
        later(),
      ),
    );
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.log[0]?.attempts).toHaveLength(1);
  });
});
