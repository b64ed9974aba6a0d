import type { FlowDefinition } from './flow-schema';

/** What the webhook received. */
export interface TriggerInput {
  body: unknown;
  headers: Record<string, string>;
  query: Record<string, string>;
}

/** One try of a step that has `retry`. */
export interface StepAttempt {
  /** ISO timestamp. */
  startedAt: string;
  durationMs: number;
  error?: string;
}

/**
 * The marker of an input left out of the log: its JSON size, its item count when it is an
 * array, and `preview` (its first characters, secrets already replaced) when the input was
 * over the per-step size and the log still had room. Without `preview`, the input gave way so
 * that the steps' outputs fit under maxRunLogBytes.
 */
export interface InputTruncated {
  bytes: number;
  items?: number;
  preview?: string;
}

export interface StepLogEntry {
  stepId: string;
  /** Where the step ran, such as `each[3].double` or `big.then.notify`. */
  path: string;
  type: string;
  status: 'succeeded' | 'failed';
  /** ISO timestamp. */
  startedAt: string;
  durationMs: number;
  /**
   * What the step was given, resolved (README, "The run log"): a code step's `ctx`, an http
   * step's request, a branch's evaluated condition, a loop's items, a respond step's response.
   * Absent when the step failed before it was resolved, or when `inputTruncated` is set.
   */
  input?: unknown;
  /** Set instead of `input` when the input was too large to keep whole (see InputTruncated). */
  inputTruncated?: InputTruncated;
  output?: unknown;
  error?: string;
  /** Each try, for a step with `retry`; `durationMs` above spans them all, waits included. */
  attempts?: StepAttempt[];
}

export interface FlowResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Every text in an outcome has each secret's value replaced with `[secret:NAME]`. */
export type FlowOutcome =
  | {
      status: 'succeeded';
      response: FlowResponse;
      log: StepLogEntry[];
      /**
       * The respond step's response before redaction: the one deliberate way out for a
       * secret, into the sync webhook's reply. Set only when it differs from `response`.
       */
      reply?: FlowResponse;
    }
  | {
      status: 'failed' | 'limit_exceeded' | 'timed_out';
      error: string;
      /** Id of the innermost step that failed; null when no step was running. */
      failedStep: string | null;
      /** Path of that step, such as `each[3].double`. */
      failedStepPath: string | null;
      log: StepLogEntry[];
      /** What an InternalStepError wraps: for the operators' log only, never stored or sent. */
      internalCause?: unknown;
    };

export interface FlowRunOptions {
  /** Epoch ms by which the run must end; past it the outcome is `timed_out`. */
  deadline: number;
  /** Aborting stops the run at once (running code included); the outcome is `timed_out`. */
  signal?: AbortSignal;
  /**
   * Awaited before every step that acts outside the run (http). The worker passes its claim
   * here when it starts a flow before the claim returned: pure steps may run meanwhile, and
   * nothing leaves the sandbox until the run is known to be this attempt's. A rejection
   * fails the step.
   */
  beforeSideEffect?: () => Promise<void>;
  /**
   * The project's secrets this run reads, by name, in clear. Templates read them as
   * `{{secrets.NAME}}` and code as `secrets.NAME`; the outcome never carries their values.
   * @default - none
   */
  secrets?: ReadonlyMap<string, string>;
}

export interface FlowRunner {
  /** Runs a definition that passed `parseFlowDefinition`. Never throws. */
  run(
    definition: FlowDefinition,
    trigger: TriggerInput,
    opts: FlowRunOptions,
  ): Promise<FlowOutcome>;
  /**
   * Frees the code sandbox for good (a code step that starts later fails as shut down); resolves
   * once its isolates' threads have let go of them.
   */
  dispose(): Promise<void>;
  /** How long the code step now running has held the isolate: 0 while it is free. */
  sandboxBusyForMs(): number;
  /** Whether the code sandbox runs a trivial step within `timeoutMs`. */
  sandboxAnswers(timeoutMs: number): Promise<boolean>;
}
