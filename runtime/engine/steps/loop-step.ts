import { LimitExceededError } from '../errors/limit-exceeded-error';
import { StepFailedError } from '../errors/step-failed-error';
import { assertJsonWithin, stepInputBound } from '../json-bound';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { LoopStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { StepContext, StepInputSlot } from './step-context';

/**
 * Runs the body once per item. Inside the body the loop id reads `{ item, index }`; the loop's
 * output is the last body step's output of each iteration (null for an empty body). The step's
 * input is the items; each item is serialised once, for the input and for its iteration.
 */
export async function executeLoopStep(
  step: LoopStep,
  scope: RunScope,
  path: string,
  run: StepContext,
  slot: StepInputSlot,
): Promise<StepOutput> {
  const bound = stepInputBound(run.limits);
  const items = resolveTemplates(step.items, scope, { bound });
  if (!Array.isArray(items)) {
    assertJsonWithin(items, bound, 'items');
    slot.input = outputOf(items);
    throw new StepFailedError(
      `items must resolve to an array (got ${items === null ? 'null' : typeof items})`,
    );
  }
  // Counted before anything is serialised: items past the cap would be serialised for nothing.
  const { maxLoopIterations } = run.limits;
  if (items.length > maxLoopIterations) {
    throw new LimitExceededError(
      'maxLoopIterations',
      `loop has ${items.length} items, over maxLoopIterations (${maxLoopIterations})`,
    );
  }
  assertJsonWithin(items, bound, 'items');
  const itemJson = items.map((item) => JSON.stringify(item) ?? 'null');
  slot.input = { value: items, json: `[${itemJson.join(',')}]` };
  const lastOutputs: StepOutput[] = [];
  for (const [index, item] of items.entries()) {
    const iterationScope = scope.child();
    iterationScope.set(step.id, {
      value: { item, index },
      json: `{"item":${itemJson[index]},"index":${index}}`,
    });
    const last = await run.runBlock(step.steps, iterationScope, `${path}[${index}]`);
    lastOutputs.push(last ?? outputOf(null));
  }
  return {
    value: lastOutputs.map((output) => output.value),
    json: `[${lastOutputs.map((output) => output.json).join(',')}]`,
  };
}
