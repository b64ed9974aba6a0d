import { afterAll, describe, expect, it } from 'vitest';
import { createFlowRunner, type FlowDefinition } from '../../../runtime/engine';
import {
  codeStep,
  failure,
  flowOf,
  later,
  respondStep,
  succeeded,
  triggerOf,
} from './flow-fixtures';

describe('loop steps', () => {
  const runner = createFlowRunner();
  afterAll(() => runner.dispose());
  const run = (flow: FlowDefinition, body: unknown = null) =>
    runner.run(flow, triggerOf(body), later());

  const doubling = flowOf([
    {
      id: 'each',
      type: 'loop',
      items: '{{trigger.body.items}}',
      steps: [
        codeStep(
          'double',
          'export default ({ each }) => ({ value: each.item * 2, index: each.index })',
        ),
        codeStep(
          'label',
          "export default ({ double }) => { if (double.value === null) throw new TypeError('not a number'); return '#' + double.index + '=' + double.value }",
        ),
      ],
    },
    respondStep({ body: { labels: '{{each}}', second: '{{each.1}}' } }),
  ]);

  it("outputs each iteration's last step output, reading the item and index", async () => {
    const outcome = succeeded(await run(doubling, { items: [1, 2, 3] }));
    expect(outcome.response.body).toEqual({ labels: ['#0=2', '#1=4', '#2=6'], second: '#1=4' });
  });

  it('logs body steps under the iteration path', async () => {
    const outcome = succeeded(await run(doubling, { items: [5, 6] }));
    expect(outcome.log.map((entry) => entry.path)).toEqual([
      'each[0].double',
      'each[0].label',
      'each[1].double',
      'each[1].label',
      'each',
      'reply',
    ]);
  });

  it('outputs an empty array for no items', async () => {
    const flow = flowOf([
      { id: 'each', type: 'loop', items: '{{trigger.body}}', steps: [respondStep({ body: 'x' })] },
    ]);
    expect(succeeded(await run(flow, [])).response.body).toEqual([]);
  });

  it('fails when items is not an array', async () => {
    const outcome = failure(await run(doubling, { items: { a: 1 } }));
    expect(outcome).toMatchObject({
      failedStep: 'each',
      error: 'items must resolve to an array (got object)',
    });
  });

  it('names the innermost failing step and its path', async () => {
    const outcome = failure(await run(doubling, { items: [1, 2, 'x'] }));
    expect(outcome).toMatchObject({
      status: 'failed',
      failedStep: 'label',
      failedStepPath: 'each[2].label',
    });
    const failedPaths = outcome.log
      .filter((entry) => entry.status === 'failed')
      .map((entry) => entry.path);
    expect(failedPaths).toEqual(['each[2].label', 'each']);
  });

  it('refuses more items than maxLoopIterations', async () => {
    const small = createFlowRunner({ maxLoopIterations: 3 });
    const outcome = failure(await small.run(doubling, triggerOf({ items: [1, 2, 3, 4] }), later()));
    small.dispose();
    expect(outcome).toMatchObject({
      status: 'limit_exceeded',
      failedStep: 'each',
      error: 'loop has 4 items, over maxLoopIterations (3)',
    });
  });

  it('refuses too many items before it serialises any of them', async () => {
    const small = createFlowRunner({ maxLoopIterations: 3 });
    let serialised = 0;
    // Stands in for large items: serialising them is the work the count check must spare.
    const item = {
      toJSON: () => {
        serialised += 1;
        return 1;
      },
    };
    const outcome = failure(
      await small.run(doubling, triggerOf({ items: Array(4).fill(item) }), later()),
    );
    small.dispose();
    expect(outcome).toMatchObject({ status: 'limit_exceeded', failedStep: 'each' });
    expect(serialised).toBe(0);
  });

  it('runs exactly maxLoopIterations items', async () => {
    const small = createFlowRunner({ maxLoopIterations: 3 });
    const outcome = await small.run(doubling, triggerOf({ items: [1, 2, 3] }), later());
    small.dispose();
    expect(outcome.status).toBe('succeeded');
  });

  it('checks the loop output against maxStepOutputBytes', async () => {
    const small = createFlowRunner({ maxStepOutputBytes: 50 });
    const outcome = failure(
      await small.run(doubling, triggerOf({ items: [1, 2, 3, 4, 5, 6, 7, 8] }), later()),
    );
    small.dispose();
    expect(outcome).toMatchObject({ status: 'limit_exceeded', failedStep: 'each' });
    expect(outcome.error).toMatch(/^output is \d+ bytes, over maxStepOutputBytes \(50\)$/);
  });
});
