import { afterAll, describe, expect, it } from 'vitest';
import {
  createFlowRunner,
  defaultEngineLimits,
  type FlowDefinition,
} from '../../../runtime/engine';
import {
  codeStep,
  failure,
  flowOf,
  later,
  respondStep,
  succeeded,
  triggerOf,
} from './flow-fixtures';

describe('running flows', () => {
  const runner = createFlowRunner();
  afterAll(() => runner.dispose());
  const run = (flow: FlowDefinition, body: unknown = null) =>
    runner.run(flow, triggerOf(body), later());

  describe('responses', () => {
    it('answers with the respond step: code a+b then respond', async () => {
      const flow = flowOf([
        codeStep(
          'calc',
          'export default ({ trigger }) => ({ sum: trigger.body.a + trigger.body.b })',
        ),
        respondStep({
          status: 201,
          body: { sum: '{{calc.sum}}' },
          headers: { 'x-sum': '{{calc.sum}}' },
        }),
      ]);
      const outcome = succeeded(await run(flow, { a: 2, b: 3 }));
      expect(outcome.response).toEqual({
        status: 201,
        body: { sum: 5 },
        headers: { 'x-sum': '5' },
      });
    });

    it('defaults the respond status to 200', async () => {
      const outcome = succeeded(await run(flowOf([respondStep({ body: 'hi' })])));
      expect(outcome.response).toEqual({ status: 200, body: 'hi' });
    });

    it('takes the status from a template', async () => {
      const outcome = succeeded(
        await run(flowOf([respondStep({ status: '{{trigger.body.code}}' })]), { code: 418 }),
      );
      expect(outcome.response.status).toBe(418);
    });

    it('fails when a templated status is not an HTTP status', async () => {
      const outcome = failure(
        await run(flowOf([respondStep({ status: '{{trigger.body.code}}' })]), { code: 'ok' }),
      );
      expect(outcome.error).toBe('status must be an integer from 200 to 599 (got "ok")');
    });

    it('goes on after respond and keeps the first response', async () => {
      const flow = flowOf([
        respondStep({ body: 'first' }),
        codeStep('after', 'export default () => "ran"'),
        { id: 'second', type: 'respond', body: 'second' },
      ]);
      const outcome = succeeded(await run(flow));
      expect(outcome.response.body).toBe('first');
      expect(outcome.log.map((entry) => entry.stepId)).toEqual(['reply', 'after', 'second']);
    });

    it('answers 200 with the last top-level output when there is no respond step', async () => {
      const flow = flowOf([
        codeStep('a', 'export default () => 1'),
        codeStep('b', 'export default () => ({ b: 2 })'),
      ]);
      expect(succeeded(await run(flow)).response).toEqual({ status: 200, body: { b: 2 } });
    });

    it('answers 200 with null when the flow has no steps', async () => {
      expect(succeeded(await run(flowOf([]))).response).toEqual({ status: 200, body: null });
    });

    it('fails when a template path is missing, naming the template and the step', async () => {
      const flow = flowOf([
        codeStep('calc', 'export default () => ({ n: 1 })'),
        respondStep({ body: '{{calc.m}}' }),
      ]);
      const outcome = failure(await run(flow));
      expect(outcome).toMatchObject({
        status: 'failed',
        error: 'template {{calc.m}}: path "calc.m" not found',
        failedStep: 'reply',
      });
    });
  });

  describe('limits', () => {
    it('fails the run when a step output is over maxStepOutputBytes', async () => {
      const small = createFlowRunner({ maxStepOutputBytes: 100 });
      const outcome = failure(
        await small.run(
          flowOf([respondStep({ body: '{{trigger.body}}' })]),
          triggerOf('y'.repeat(200)),
          later(),
        ),
      );
      small.dispose();
      expect(outcome).toMatchObject({ status: 'limit_exceeded', failedStep: 'reply' });
      expect(outcome.error).toContain('maxStepOutputBytes (100)');
    });

    it('fails the run when the log grows past maxRunLogBytes', async () => {
      const small = createFlowRunner({ maxRunLogBytes: 2000 });
      const flow = flowOf([
        {
          id: 'each',
          type: 'loop',
          items: '{{trigger.body}}',
          steps: [respondStep({ body: '{{each.item}}' })],
        },
      ]);
      // The items fit in the cap (an input larger than the whole log is refused up front);
      // the outputs of their iterations do not.
      const outcome = failure(
        await small.run(flow, triggerOf(Array(50).fill('z'.repeat(30))), later()),
      );
      small.dispose();
      expect(outcome.status).toBe('limit_exceeded');
      expect(outcome.error).toBe('run log would grow past maxRunLogBytes (2000 bytes)');
      expect(JSON.stringify(outcome.log).length).toBeLessThan(2000 + 1000);
    });

    it('fails a step whose input alone passes maxRunLogBytes, before serialising it', async () => {
      const small = createFlowRunner({ maxRunLogBytes: 2000 });
      const flow = flowOf([
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: 'http://192.0.2.1/never-sent',
          body: Array(10).fill('{{trigger.body}}'),
        },
      ]);
      const outcome = failure(await small.run(flow, triggerOf('w'.repeat(300)), later()));
      small.dispose();
      expect(outcome).toMatchObject({
        status: 'limit_exceeded',
        failedStep: 'send',
        error: 'the request is over maxRunLogBytes (2000) before it is serialised',
      });
    });

    it('rejects a memory cap isolated-vm cannot honour', () => {
      expect(() => createFlowRunner({ codeMemoryMb: 4 })).toThrow(
        'codeMemoryMb must be at least 8 (got 4)',
      );
    });

    it('has the documented defaults', () => {
      expect(defaultEngineLimits).toEqual({
        codeTimeoutMs: 5000,
        codeMemoryMb: 64,
        httpTimeoutMs: 10_000,
        httpMaxResponseBytes: 5 * 1024 * 1024,
        maxLoopIterations: 1000,
        maxStepOutputBytes: 1024 * 1024,
        maxRunLogBytes: 50 * 1024 * 1024,
        allowPrivateNetwork: false,
      });
    });
  });

  describe('deadline and abort', () => {
    it('times out a run whose deadline has passed before the first step', async () => {
      const outcome = failure(
        await runner.run(flowOf([respondStep()]), triggerOf(null), { deadline: Date.now() - 1 }),
      );
      expect(outcome).toMatchObject({ status: 'timed_out', failedStep: 'reply' });
      expect(outcome.error).toMatch(/^flow ran past its deadline/);
    });

    it('times out between steps once the deadline passes', async () => {
      const flow = flowOf([
        {
          id: 'each',
          type: 'loop',
          items: '{{trigger.body}}',
          steps: [
            codeStep(
              'spin',
              'export default () => { const end = Date.now() + 30; while (Date.now() < end) {} }',
            ),
          ],
        },
      ]);
      const outcome = failure(await runner.run(flow, triggerOf(Array(100).fill(0)), later(150)));
      expect(outcome.status).toBe('timed_out');
      expect(outcome.failedStepPath).toMatch(/^each\[\d+\]\.spin$/);
    });

    it('times out a run whose signal is already aborted', async () => {
      const outcome = failure(
        await runner.run(flowOf([respondStep()]), triggerOf(null), {
          ...later(),
          signal: AbortSignal.abort(),
        }),
      );
      expect(outcome.status).toBe('timed_out');
      expect(outcome.error).toMatch(/^flow aborted/);
    });
  });

  describe('log', () => {
    it('records each step with its timing and output', async () => {
      const before = Date.now();
      const outcome = succeeded(
        await run(
          flowOf([codeStep('calc', 'export default () => 7'), respondStep({ body: '{{calc}}' })]),
        ),
      );
      expect(outcome.log).toEqual([
        {
          stepId: 'calc',
          path: 'calc',
          type: 'code',
          status: 'succeeded',
          startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          durationMs: expect.any(Number),
          input: { trigger: { body: null, headers: {}, query: {} } },
          output: 7,
        },
        expect.objectContaining({
          stepId: 'reply',
          type: 'respond',
          input: { status: 200, body: 7 },
          output: { status: 200, body: 7 },
        }),
      ]);
      expect(Date.parse(outcome.log[0]?.startedAt ?? '')).toBeGreaterThanOrEqual(before - 1);
    });

    it('records a failed step with its error', async () => {
      const outcome = failure(
        await run(flowOf([codeStep('boom', "export default () => { throw new Error('kaput') }")])),
      );
      expect(outcome.log).toEqual([
        expect.objectContaining({ stepId: 'boom', status: 'failed', error: 'kaput' }),
      ]);
      expect(outcome.log[0]).not.toHaveProperty('output');
    });
  });

  it('never throws, even for a definition that skipped validation', async () => {
    const broken = {
      name: 'x',
      trigger: { type: 'webhook' },
      steps: [{ id: 'odd', type: 'teleport' }],
    };
    const outcome = failure(await run(broken as unknown as FlowDefinition));
    expect(outcome.status).toBe('failed');
    expect(outcome.failedStep).toBe('odd');
  });

  describe('an error no step meant to throw', () => {
    const internalText = "Cannot read properties of undefined (reading 'rows')";
    const flow = flowOf([
      { id: 'call', type: 'http', method: 'GET', url: 'http://example.invalid/' },
    ] as unknown as FlowDefinition['steps']);
    const throwInternally = async () => {
      throw new TypeError(internalText);
    };

    it('records a fixed message, keeps the cause for the worker log only, and names the step', async () => {
      const outcome = failure(
        await runner.run(flow, triggerOf(null), { ...later(), beforeSideEffect: throwInternally }),
      );
      expect(outcome).toMatchObject({
        status: 'failed',
        error: 'the step failed on an internal error; the worker log has its details',
        failedStep: 'call',
      });
      expect(outcome.internalCause).toBeInstanceOf(TypeError);
      // Nothing a caller or the run log sees carries the internal text.
      const { internalCause: _cause, ...seen } = outcome;
      expect(JSON.stringify(seen)).not.toContain('reading');
    });

    it("still reports a flow author's template error in words", async () => {
      // A stored definition that skipped today's validation (the API refuses this template).
      const unvalidated = {
        name: 'old',
        trigger: { type: 'webhook' },
        steps: [{ id: 'reply', type: 'respond', body: '{{trigger..body}}' }],
      } as unknown as FlowDefinition;
      const outcome = failure(await run(unvalidated));
      expect(outcome.error).toMatch(/^invalid template \{\{trigger\.\.body\}\}/);
      expect(outcome.internalCause).toBeUndefined();
    });
  });
});
