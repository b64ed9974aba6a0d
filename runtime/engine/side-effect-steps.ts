import { assertNever } from './assert-never';
import type { FlowDefinition } from './flow-schema';
import type { Step } from './step-schemas';

const cache = new WeakMap<FlowDefinition, boolean>();

/**
 * Whether any step of the definition, nested ones included, acts outside the run: an http
 * step. Code steps have no network, and a respond step's reply leaves only once the outcome
 * is recorded. Cached per definition, since versions are immutable.
 */
export function hasSideEffectSteps(definition: FlowDefinition): boolean {
  const cached = cache.get(definition);
  if (cached !== undefined) return cached;
  const found = anyActsOutside(definition.steps);
  cache.set(definition, found);
  return found;
}

function anyActsOutside(steps: readonly Step[]): boolean {
  return steps.some((step) => {
    switch (step.type) {
      case 'http':
        return true;
      case 'loop':
        return anyActsOutside(step.steps);
      case 'branch':
        return anyActsOutside(step.then) || anyActsOutside(step.else);
      case 'code':
      case 'respond':
        return false;
      default:
        // A new step type must say here whether it acts outside the run.
        return assertNever(step);
    }
  });
}
