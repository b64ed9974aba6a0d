import { evaluateCondition } from '../branch-condition';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { BranchStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { StepContext } from './step-context';

/** Runs one arm in the branch's own scope, so the arm's outputs stay visible after it. */
export async function executeBranchStep(
  step: BranchStep,
  scope: RunScope,
  path: string,
  run: StepContext,
): Promise<StepOutput> {
  const { left, op, right } = step.if;
  const matched =
    op === 'exists'
      ? evaluateCondition(
          op,
          resolveTemplates(left, scope, { missingAsUndefined: true }),
          undefined,
        )
      : evaluateCondition(op, resolveTemplates(left, scope), resolveTemplates(right, scope));
  const arm = matched ? 'then' : 'else';
  await run.runBlock(step[arm], scope, `${path}.${arm}`);
  return outputOf({ branch: arm });
}
