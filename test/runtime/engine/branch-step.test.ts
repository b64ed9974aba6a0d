import { afterAll, describe, expect, it } from 'vitest';
import { createFlowRunner, type FlowDefinition } from '../../../runtime/engine';
import {
  branchStep,
  codeStep,
  failure,
  flowOf,
  later,
  respondStep,
  succeeded,
  triggerOf,
} from './flow-fixtures';

describe('branch steps', () => {
  const runner = createFlowRunner();
  afterAll(() => runner.dispose());
  const run = (flow: FlowDefinition, body: unknown = null) =>
    runner.run(flow, triggerOf(body), later());

  const branchOn = (left: unknown, op: string, right?: unknown) =>
    flowOf([
      codeStep('data', 'export default ({ trigger }) => trigger.body'),
      branchStep(
        'check',
        { left, op, right },
        [respondStep({ body: 'then' })],
        [{ id: 'otherwise', type: 'respond', body: 'else' }],
      ),
    ]);

  it.each([
    ['{{data.n}}', 'eq', 5, 'then'],
    ['{{data.n}}', 'eq', '5', 'else'],
    ['{{data.obj}}', 'eq', { a: [1] }, 'then'],
    ['{{data.n}}', 'ne', 6, 'then'],
    ['{{data.n}}', 'ne', 5, 'else'],
    ['{{data.n}}', 'gt', 4, 'then'],
    ['{{data.n}}', 'gt', 5, 'else'],
    ['{{data.n}}', 'gte', 5, 'then'],
    ['{{data.n}}', 'lt', 6, 'then'],
    ['{{data.n}}', 'lt', 5, 'else'],
    ['{{data.n}}', 'lte', 5, 'then'],
    ['{{data.s}}', 'gt', 'apple', 'then'],
    ['{{data.s}}', 'contains', 'nan', 'then'],
    ['{{data.s}}', 'contains', 'kiwi', 'else'],
    ['{{data.list}}', 'contains', 'b', 'then'],
    ['{{data.list}}', 'contains', 'z', 'else'],
    ['{{data.obj}}', 'contains', 'a', 'then'],
    ['{{data.n}}', 'exists', undefined, 'then'],
    ['{{data.missing}}', 'exists', undefined, 'else'],
    ['{{data.nothing}}', 'exists', 'ignored', 'else'],
  ])('%s %s %j takes %s', async (left, op, right, arm) => {
    const body = { n: 5, s: 'banana', list: ['a', 'b'], obj: { a: [1] }, nothing: null };
    const outcome = succeeded(await run(branchOn(left, op, right), body));
    expect(outcome.response.body).toBe(arm);
    expect(outcome.log.find((entry) => entry.stepId === 'check')?.output).toEqual({
      branch: arm,
    });
  });

  it('fails when ordering a number against a string', async () => {
    const outcome = failure(await run(branchOn('{{data.n}}', 'gt', 'x'), { n: 5 }));
    expect(outcome).toMatchObject({
      status: 'failed',
      failedStep: 'check',
      error: 'gt needs two numbers or two strings (got number and string)',
    });
  });

  it('fails on a missing path for operators other than exists', async () => {
    const outcome = failure(await run(branchOn('{{data.missing}}', 'eq', 1), { n: 5 }));
    expect(outcome.error).toBe('template {{data.missing}}: path "data.missing" not found');
  });

  it('logs arm steps under the branch path', async () => {
    const outcome = succeeded(await run(branchOn('{{data.n}}', 'eq', 5), { n: 5 }));
    expect(outcome.log.map((entry) => entry.path)).toEqual(['data', 'check.then.reply', 'check']);
  });
});
