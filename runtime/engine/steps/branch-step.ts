import { evaluateCondition } from '../branch-condition';
import { assertJsonWithin, stepInputBound } from '../json-bound';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { BranchStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { StepContext, StepInputSlot } from './step-context';

/**
 * Runs one arm in the branch's own scope, so the arm's outputs stay visible after it. The
 * step's input is the condition with its values resolved.
 */
export async function executeBranchStep(
  step: BranchStep,
  scope: RunScope,
  path: string,
  run: StepContext,
  slot: StepInputSlot,
): Promise<StepOutput> {
  const { left, op, right } = step.if;
  const bound = stepInputBound(run.limits);
  const condition =
    op === 'exists'
      ? { left: resolveTemplates(left, scope, { bound, missingAsUndefined: true }), op }
      : {
          left: resolveTemplates(left, scope, { bound }),
          op,
          right: resolveTemplates(right, scope, { bound }),
        };
  assertJsonWithin(condition, bound, 'the condition');
  slot.input = outputOf(condition);
  const matched = evaluateCondition(op, condition.left, condition.right);
  const arm = matched ? 'then' : 'else';
  await run.runBlock(step[arm], scope, `${path}.${arm}`);
  return outputOf({ branch: arm });
}
