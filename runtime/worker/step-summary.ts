import type { StepLogEntry } from '../engine';

/** Outputs up to this size are kept on the run row; bigger ones only in the run log. */
const INLINE_OUTPUT_BYTES = 4096;

export interface StepSummary extends Omit<StepLogEntry, 'output' | 'input' | 'inputTruncated'> {
  output?: unknown;
  outputTruncated?: true;
}

/**
 * The per-step results stored on the run row and returned by GET /v1/runs/:id. Inputs stay in
 * the run log only: the row keeps what a step made, not everything it was given again.
 */
export function summariseSteps(log: StepLogEntry[]): StepSummary[] {
  return log.map(({ output, input: _input, inputTruncated: _truncated, ...entry }) => {
    if (output === undefined) return entry;
    const size = Buffer.byteLength(JSON.stringify(output) ?? '');
    return size <= INLINE_OUTPUT_BYTES ? { ...entry, output } : { ...entry, outputTruncated: true };
  });
}
