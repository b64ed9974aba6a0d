import { StepFailedError } from '../errors/step-failed-error';
import { responseHeaderNameProblem, responseHeaderValueProblem } from '../response-headers';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { RespondStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { FlowResponse } from '../types';
import type { StepContext } from './step-context';

/** Records the flow's response; the run goes on after it. */
export function executeRespondStep(
  step: RespondStep,
  scope: RunScope,
  run: StepContext,
): StepOutput {
  const status = resolveTemplates(step.status ?? 200, scope);
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new StepFailedError(
      `status must be an integer from 200 to 599 (got ${JSON.stringify(status)})`,
    );
  }
  const response: FlowResponse = { status, body: resolveTemplates(step.body ?? null, scope) };
  if (step.headers) {
    const headers: Record<string, string> = {};
    const resolved = resolveTemplates(step.headers, scope) as Record<string, unknown>;
    for (const [name, value] of Object.entries(resolved)) {
      const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
      // The definition was checked when it was saved; a resolved template can still be bad.
      const problem = responseHeaderNameProblem(name) ?? responseHeaderValueProblem(name, text);
      if (problem !== null) throw new StepFailedError(problem);
      headers[name] = text;
    }
    response.headers = headers;
  }
  run.recordResponse(response);
  return outputOf(response);
}
