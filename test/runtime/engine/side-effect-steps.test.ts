import { describe, expect, it } from 'vitest';
import { parseFlowDefinition } from '../../../runtime/engine';
import { hasSideEffectSteps } from '../../../runtime/engine/side-effect-steps';
import { branchStep, codeStep, respondStep } from './flow-fixtures';

const flow = (steps: unknown[]) => {
  const parsed = parseFlowDefinition({ name: 'f', trigger: { type: 'webhook' }, steps });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
};
const code = (id: string) => codeStep(id, 'export default () => 1');
const http = (id: string) => ({ id, type: 'http', method: 'GET', url: 'https://example.com' });
const always = { left: 1, op: 'exists' };
const loop = (steps: unknown[]) => ({ id: 'each', type: 'loop', items: [1, 2], steps });

describe('hasSideEffectSteps', () => {
  it('finds none in code, respond, and loops and branches of those', () => {
    const steps = [
      code('a'),
      loop([code('b')]),
      branchStep('pick', always, [code('c')], [code('d')]),
      respondStep({ status: 200, body: {} }),
    ];
    expect(hasSideEffectSteps(flow(steps))).toBe(false);
  });

  it.each([
    ['at the top', [http('h')]],
    ['inside a loop', [loop([http('h')])]],
    ['in a branch else', [branchStep('pick', always, [], [http('h')])]],
    ['in a branch in a loop', [loop([branchStep('pick', always, [http('h')])])]],
  ])('finds an http step %s', (_where, steps) => {
    expect(hasSideEffectSteps(flow(steps))).toBe(true);
  });
});
