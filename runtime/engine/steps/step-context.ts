import type { CodeSandboxRun } from '../code-sandbox';
import type { EngineLimits } from '../engine-limits';
import type { StepInput } from '../run-log';
import type { RunScope, StepOutput } from '../run-scope';
import type { Step } from '../step-schemas';
import type { FlowResponse } from '../types';

/** What a step executor may use from the run it belongs to. */
export interface StepContext {
  readonly limits: EngineLimits;
  /** Epoch ms by which the run must end. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** The code sandbox, in this run's own context. */
  readonly sandbox: CodeSandboxRun;
  /** Replaces the run's secret values in a text that is cut short before it is recorded. */
  redact(text: string): string;
  /** Resolves once the run may act outside itself (see FlowRunOptions.beforeSideEffect). */
  beforeSideEffect(): Promise<void>;
  /** Runs steps in order in `scope`; returns the last output, or null for no steps. */
  runBlock(steps: readonly Step[], scope: RunScope, pathPrefix: string): Promise<StepOutput | null>;
  /** Records the flow's response; the first respond step to run wins. */
  recordResponse(response: FlowResponse): void;
}

/**
 * Where an executor leaves its step's resolved input (with the JSON it made anyway) as soon as
 * it has it, so that a step failing afterwards still shows what it was given.
 */
export interface StepInputSlot {
  input: StepInput | null;
}
