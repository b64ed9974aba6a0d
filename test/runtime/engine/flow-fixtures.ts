import {
  type FlowDefinition,
  type FlowOutcome,
  parseFlowDefinition,
  type TriggerInput,
} from '../../../runtime/engine';

/** A valid flow with these steps; fails the test with the issues when it is not valid. */
export function flowOf(steps: unknown[]): FlowDefinition {
  const parsed = parseFlowDefinition({ name: 'test-flow', trigger: { type: 'webhook' }, steps });
  if (!parsed.ok) throw new Error(`invalid test flow: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

export function triggerOf(body: unknown, extra: Partial<TriggerInput> = {}): TriggerInput {
  return { body, headers: {}, query: {}, ...extra };
}

/** A deadline far enough away not to matter. */
export function later(ms = 60_000): { deadline: number } {
  return { deadline: Date.now() + ms };
}

/** A branch step; the one place tests spell the `then` key (see step-schemas.ts). */
export function branchStep(
  id: string,
  condition: { left: unknown; op: string; right?: unknown },
  thenSteps: unknown[],
  elseSteps: unknown[] = [],
) {
  // biome-ignore lint/suspicious/noThenProperty: the field name is fixed by the flow format
  return { id, type: 'branch', if: condition, then: thenSteps, else: elseSteps };
}

export const codeStep = (id: string, code: string) => ({ id, type: 'code', code });

export const respondStep = (fields: Record<string, unknown> = {}) => ({
  id: 'reply',
  type: 'respond',
  ...fields,
});

/** The outcome of a run that must have succeeded; fails the test with the error otherwise. */
export function succeeded(outcome: FlowOutcome) {
  if (outcome.status !== 'succeeded') throw new Error(`run ${outcome.status}: ${outcome.error}`);
  return outcome;
}

/** The outcome of a run that must have ended without success. */
export function failure(outcome: FlowOutcome) {
  if (outcome.status === 'succeeded') {
    throw new Error(`expected the run to fail: ${JSON.stringify(outcome.response)}`);
  }
  return outcome;
}
