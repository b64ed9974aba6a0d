import { previewText } from '../../db/storable-text';
import { StepFailedError } from '../errors/step-failed-error';
import { assertJsonWithin, stepOutputBound } from '../json-bound';
import {
  responseHeaderNameProblem,
  responseHeadersSizeProblem,
  responseHeaderValueProblem,
} from '../response-headers';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { RespondStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { FlowResponse } from '../types';
import type { StepContext, StepInputSlot } from './step-context';

/**
 * How much of a bad status its error shows. The status can be the caller's input, up to
 * maxStepOutputBytes, and the error goes to the sync caller and into every list of runs.
 */
const STATUS_PREVIEW_CHARS = 100;

/** A bad status as its error shows it: its JSON, cut on a whole character past the preview. */
function statusPreview(status: unknown): string {
  const json = JSON.stringify(status) ?? String(status);
  return json.length <= STATUS_PREVIEW_CHARS ? json : `${previewText(json, STATUS_PREVIEW_CHARS)}…`;
}

/**
 * Records the flow's response; the run goes on after it. The step's input is the resolved
 * status, body and headers: the output itself (same JSON) when they are valid.
 */
export function executeRespondStep(
  step: RespondStep,
  scope: RunScope,
  run: StepContext,
  slot: StepInputSlot,
): StepOutput {
  // The response is the step's output, so maxStepOutputBytes bounds what its templates resolve.
  const bound = stepOutputBound(run.limits);
  const status = resolveTemplates(step.status ?? 200, scope, { bound });
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    assertJsonWithin(status, bound, 'the status');
    slot.input = outputOf({ status });
    throw new StepFailedError(
      `status must be an integer from 200 to 599 (got ${statusPreview(status)})`,
    );
  }
  const body = resolveTemplates(step.body ?? null, scope, { bound });
  const resolvedHeaders = step.headers
    ? (resolveTemplates(step.headers, scope, { bound }) as Record<string, unknown>)
    : undefined;
  // Before anything serialises them: templates can repeat a large value past any size.
  assertJsonWithin({ status, body, headers: resolvedHeaders }, bound, 'the response');
  const refuse = (problem: string) => {
    slot.input = outputOf({ status, body, headers: resolvedHeaders });
    return new StepFailedError(problem);
  };
  const response: FlowResponse = { status, body };
  if (resolvedHeaders) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(resolvedHeaders)) {
      const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
      // The definition was checked when it was saved; a resolved template can still be bad.
      const problem = responseHeaderNameProblem(name) ?? responseHeaderValueProblem(name, text);
      if (problem !== null) throw refuse(problem);
      headers[name] = text;
    }
    const size = responseHeadersSizeProblem(Object.entries(headers));
    if (size !== null) throw refuse(size);
    response.headers = headers;
  }
  run.recordResponse(response);
  const output = outputOf(response);
  slot.input = output;
  return output;
}
