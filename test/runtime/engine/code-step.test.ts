import { afterAll, describe, expect, it } from 'vitest';
import { createFlowRunner, type FlowOutcome } from '../../../runtime/engine';
import { codeStep, failure, flowOf, later, triggerOf } from './flow-fixtures';

function responseBody(outcome: FlowOutcome): unknown {
  if (outcome.status !== 'succeeded') throw new Error(`run ${outcome.status}: ${outcome.error}`);
  return outcome.response.body;
}

describe('code steps', () => {
  const runner = createFlowRunner({ codeTimeoutMs: 300, codeMemoryMb: 16 });
  afterAll(() => runner.dispose());

  const runCode = (code: string, body: unknown = null) =>
    runner.run(flowOf([codeStep('calc', code)]), triggerOf(body), later());

  it('runs the default export with the trigger and earlier outputs', async () => {
    const flow = flowOf([
      codeStep('first', 'export default ({ trigger }) => ({ n: trigger.body.a + trigger.body.b })'),
      codeStep(
        'second',
        'export default (ctx) => ({ doubled: ctx.first.n * 2, keys: Object.keys(ctx) })',
      ),
    ]);
    const outcome = await runner.run(flow, triggerOf({ a: 1, b: 2 }), later());
    expect(responseBody(outcome)).toEqual({ doubled: 6, keys: ['trigger', 'first'] });
  });

  it('awaits an async default export', async () => {
    const outcome = await runCode(
      'export default async ({ trigger }) => { await null; return { got: trigger.body.v } }',
      { v: 'x' },
    );
    expect(responseBody(outcome)).toEqual({ got: 'x' });
  });

  it('allows helpers and top-level code in the module', async () => {
    const outcome = await runCode('const twice = (n) => n * 2;\nexport default () => twice(21);');
    expect(responseBody(outcome)).toBe(42);
  });

  it('turns an undefined result into null', async () => {
    expect(responseBody(await runCode('export default () => {}'))).toBeNull();
  });

  it("shares one context between a run's steps, and none between runs", async () => {
    const flow = flowOf([
      codeStep(
        'setter',
        'export default () => { globalThis.leak = (globalThis.leak ?? 0) + 1; Array.prototype.evil = 1; return 1 }',
      ),
      codeStep('reader', 'export default () => [globalThis.leak, typeof [].evil]'),
    ]);
    // Each run sees only what its own earlier steps left.
    for (let i = 0; i < 2; i++) {
      expect(responseBody(await runner.run(flow, triggerOf(null), later()))).toEqual([1, 'number']);
    }
  });

  it("runs every iteration of a loop of code steps in the run's one context", async () => {
    const flow = flowOf([
      {
        id: 'each',
        type: 'loop',
        items: '{{trigger.body}}',
        steps: [
          codeStep(
            'count',
            'export default ({ each }) => { globalThis.seen = [...(globalThis.seen ?? []), each.item]; return globalThis.seen.length }',
          ),
        ],
      },
      codeStep('total', 'export default () => globalThis.seen'),
    ]);
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(responseBody(await runner.run(flow, triggerOf(items), later()))).toEqual(items);
  });

  it('cannot change the host copy of an earlier output', async () => {
    const flow = flowOf([
      codeStep('first', 'export default () => ({ n: 1 })'),
      codeStep('mutate', 'export default (ctx) => { ctx.first.n = 99; return ctx.first.n }'),
      { id: 'reply', type: 'respond', body: '{{first.n}}' },
    ]);
    expect(responseBody(await runner.run(flow, triggerOf(null), later()))).toBe(1);
  });

  it('has no process: reading process.env fails the step', async () => {
    const outcome = failure(await runCode('export default () => process.env'));
    expect(outcome.status).toBe('failed');
    expect(outcome.failedStep).toBe('calc');
    expect(outcome.error).toBe('ReferenceError: process is not defined');
  });

  it("has no require: require('fs') fails the step", async () => {
    const outcome = failure(
      await runCode("export default () => require('fs').readFileSync('/etc/passwd')"),
    );
    expect(outcome.error).toBe('ReferenceError: require is not defined');
  });

  it('has no fetch', async () => {
    const outcome = failure(await runCode("export default () => fetch('http://example.com')"));
    expect(outcome.error).toBe('ReferenceError: fetch is not defined');
  });

  it('refuses import statements', async () => {
    const outcome = failure(await runCode("import fs from 'node:fs';\nexport default () => 1"));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('imports are not available in code steps (got "node:fs")');
  });

  it('refuses dynamic import', async () => {
    const outcome = failure(
      await runCode("export default async () => (await import('node:fs')).readFileSync"),
    );
    expect(outcome.status).toBe('failed');
  });

  it('fails with the thrown error', async () => {
    const outcome = failure(
      await runCode("export default () => { throw new TypeError('bad input') }"),
    );
    expect(outcome.error).toBe('TypeError: bad input');
  });

  it('fails with a thrown string', async () => {
    const outcome = failure(await runCode("export default () => { throw 'plain' }"));
    expect(outcome.error).toBe('code threw plain');
  });

  it('fails with a rejected promise', async () => {
    const outcome = failure(
      await runCode("export default async () => { throw new Error('nope') }"),
    );
    expect(outcome.error).toBe('nope');
  });

  it('fails on a syntax error', async () => {
    const outcome = failure(await runCode('export default () => {'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('SyntaxError');
  });

  it('fails when there is no default export function', async () => {
    const outcome = failure(await runCode('export const x = 1'));
    expect(outcome.error).toBe('TypeError: the code must export a default function');
  });

  it('fails when the output is not JSON-serialisable', async () => {
    const outcome = failure(await runCode('export default () => ({ big: 1n })'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^output is not JSON-serialisable: .*BigInt/);
  });

  it('stops an infinite loop at the time cap and keeps working', async () => {
    const started = Date.now();
    const outcome = failure(await runCode('export default () => { while (true) {} }'));
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toBe('code ran longer than codeTimeoutMs (300 ms) and was stopped');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(responseBody(await runCode('export default () => "still fine"'))).toBe('still fine');
  });

  it('stops an infinite loop after an await', async () => {
    const outcome = failure(
      await runCode('export default async () => { await null; while (true) {} }'),
    );
    expect(outcome.error).toContain('codeTimeoutMs (300 ms)');
  });

  it('stops an infinite loop in top-level module code', async () => {
    const outcome = failure(await runCode('while (true) {}\nexport default () => 1'));
    expect(outcome.error).toContain('codeTimeoutMs (300 ms)');
  });

  it('stops a promise that never settles at the time cap', async () => {
    const outcome = failure(await runCode('export default () => new Promise(() => {})'));
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toContain('codeTimeoutMs (300 ms)');
  });

  it('stops a memory bomb at the memory cap; the host and the next run are fine', async () => {
    // A generous time cap, so that only the memory cap can stop this code.
    const roomy = createFlowRunner({ codeTimeoutMs: 10_000, codeMemoryMb: 16 });
    const bomb = flowOf([
      codeStep(
        'calc',
        'export default () => { const hoard = []; while (true) hoard.push(new Array(1e6).fill(7)) }',
      ),
    ]);
    const hostHeapBefore = process.memoryUsage().heapUsed;
    const outcome = failure(await roomy.run(bomb, triggerOf(null), later()));
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toBe('code used more than codeMemoryMb (16 MB) and was stopped');
    expect(process.memoryUsage().heapUsed - hostHeapBefore).toBeLessThan(50 * 1024 * 1024);
    const next = await roomy.run(
      flowOf([codeStep('calc', 'export default ({ trigger }) => trigger.body')]),
      triggerOf('next'),
      later(),
    );
    roomy.dispose();
    expect(responseBody(next)).toBe('next');
  });

  it('refuses an output over maxStepOutputBytes before copying it out', async () => {
    const small = createFlowRunner({ maxStepOutputBytes: 1000 });
    const outcome = failure(
      await small.run(
        flowOf([codeStep('calc', "export default () => 'x'.repeat(5000)")]),
        triggerOf(null),
        later(),
      ),
    );
    small.dispose();
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toContain('maxStepOutputBytes (1000 bytes)');
  });

  it('refuses an output whose UTF-8 bytes are over maxStepOutputBytes', async () => {
    const small = createFlowRunner({ maxStepOutputBytes: 1000 });
    // 400 characters, 1200 bytes of UTF-8.
    const outcome = failure(
      await small.run(
        flowOf([codeStep('calc', "export default () => '€'.repeat(400)")]),
        triggerOf(null),
        later(),
      ),
    );
    small.dispose();
    expect(outcome.status).toBe('limit_exceeded');
    expect(outcome.error).toBe('output is 1202 bytes, over maxStepOutputBytes (1000)');
  });

  it('times the flow out when the deadline comes before the time cap', async () => {
    const slow = createFlowRunner({ codeTimeoutMs: 5000 });
    const started = Date.now();
    const outcome = failure(
      await slow.run(
        flowOf([codeStep('calc', 'export default () => { while (true) {} }')]),
        triggerOf(null),
        later(200),
      ),
    );
    slow.dispose();
    expect(outcome.status).toBe('timed_out');
    expect(outcome.failedStep).toBe('calc');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops running code when the signal aborts, and the next run works', async () => {
    const slow = createFlowRunner({ codeTimeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('worker shutting down')), 100);
    const started = Date.now();
    const outcome = failure(
      await slow.run(
        flowOf([codeStep('calc', 'export default () => { while (true) {} }')]),
        triggerOf(null),
        {
          ...later(),
          signal: controller.signal,
        },
      ),
    );
    expect(outcome.status).toBe('timed_out');
    expect(outcome.error).toBe('flow aborted: worker shutting down');
    expect(Date.now() - started).toBeLessThan(2000);
    const next = await slow.run(
      flowOf([codeStep('calc', 'export default () => 2')]),
      triggerOf(null),
      later(),
    );
    slow.dispose();
    expect(responseBody(next)).toBe(2);
  });
});
