import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth';
import { assertNever } from './assert-never';
import { CodeSandbox, type CodeSandboxRun } from './code-sandbox';
import { throwIfOutOfTime } from './deadline';
import { type EngineLimits, resolveEngineLimits } from './engine-limits';
import { InternalStepError, toEngineError } from './errors/engine-error';
import { LimitExceededError } from './errors/limit-exceeded-error';
import { StepFailedError } from './errors/step-failed-error';
import type { FlowDefinition } from './flow-schema';
import { statusForError } from './outcome-status';
import { RunLog } from './run-log';
import { RunScope, type StepOutput } from './run-scope';
import { createRedactor, type Redactor } from './secret-redaction';
import { runWithRetry } from './step-retry';
import type { Step } from './step-schemas';
import { executeBranchStep } from './steps/branch-step';
import { executeCodeStep } from './steps/code-step';
import { executeHttpStep } from './steps/http-step';
import { executeLoopStep } from './steps/loop-step';
import { executeRespondStep } from './steps/respond-step';
import type { StepContext, StepInputSlot } from './steps/step-context';
import type {
  FlowOutcome,
  FlowResponse,
  FlowRunner,
  FlowRunOptions,
  StepAttempt,
  TriggerInput,
} from './types';

export interface FlowRunnerOptions {
  /**
   * Told when a code-step isolate cannot be disposed (its thread stays held): the process must
   * end itself, since a normal exit would wait for that thread forever.
   * @default - nothing is told; the runner goes on with a new isolate
   */
  onSandboxLost?: (reason: string) => void;
}

/**
 * Creates a runner that keeps one warm code sandbox for all its runs. Throws at once when a
 * limit cannot work (for example `codeMemoryMb` below 8).
 */
export function createFlowRunner(
  limitOverrides?: Partial<EngineLimits>,
  options: FlowRunnerOptions = {},
): FlowRunner {
  const limits = resolveEngineLimits(limitOverrides);
  const sandbox = new CodeSandbox(limits.codeMemoryMb, options.onSandboxLost);
  return {
    run: (definition, trigger, opts) => new FlowRun(limits, sandbox, opts).run(definition, trigger),
    dispose: () => sandbox.close(),
    sandboxBusyForMs: () => sandbox.busyForMs(),
    sandboxAnswers: (timeoutMs) => sandbox.answers(timeoutMs),
  };
}

/** The state of one run. Every step error ends here as an outcome; nothing is thrown out. */
class FlowRun implements StepContext {
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly #beforeSideEffect: (() => Promise<void>) | undefined;
  readonly #log: RunLog;
  readonly #secrets: ReadonlyMap<string, string>;
  readonly #redactor: Redactor;
  #response: FlowResponse | null = null;
  #responded = false;

  /** The run's code steps share one context, which ends with the run. */
  readonly sandbox: CodeSandboxRun;

  constructor(
    readonly limits: EngineLimits,
    sandbox: CodeSandbox,
    opts: FlowRunOptions,
  ) {
    this.sandbox = sandbox.openRun();
    this.deadline = opts.deadline;
    this.signal = opts.signal;
    this.#beforeSideEffect = opts.beforeSideEffect;
    this.#secrets = opts.secrets ?? new Map();
    this.#redactor = createRedactor(this.#secrets);
    this.#log = new RunLog(limits.maxRunLogBytes, this.#redactor.text);
  }

  redact(text: string): string {
    return this.#redactor.text(text);
  }

  async run(definition: FlowDefinition, trigger: TriggerInput): Promise<FlowOutcome> {
    let outcome: FlowOutcome;
    try {
      outcome = await this.#runUnredacted(definition, trigger);
    } finally {
      this.sandbox.end();
    }
    const redacted = this.#redactor.value(outcome);
    // Only a respond step's response goes out unredacted, and only in the sync reply.
    if (
      this.#responded &&
      outcome.status === 'succeeded' &&
      redacted.status === 'succeeded' &&
      JSON.stringify(redacted.response) !== JSON.stringify(outcome.response)
    ) {
      return { ...redacted, reply: outcome.response };
    }
    // The operators' error object keeps its class and stack, with its texts redacted.
    if (
      outcome.status !== 'succeeded' &&
      redacted.status !== 'succeeded' &&
      outcome.internalCause instanceof Error &&
      redacted !== outcome
    ) {
      const cause = outcome.internalCause;
      const copy = new Error(this.#redactor.text(cause.message));
      copy.name = cause.name;
      copy.stack = this.#redactor.text(cause.stack ?? '');
      return { ...redacted, internalCause: copy };
    }
    return redacted;
  }

  async #runUnredacted(definition: FlowDefinition, trigger: TriggerInput): Promise<FlowOutcome> {
    const log = this.#log.entries;
    try {
      const scope = RunScope.forTrigger(trigger, this.#secrets);
      const last = await this.runBlock(definition.steps, scope, '');
      const response = this.#response ?? { status: 200, body: last?.value ?? null };
      return { status: 'succeeded', response, log };
    } catch (error) {
      const engineError = toEngineError(error);
      return {
        status: statusForError(engineError),
        error: engineError.message,
        failedStep: engineError.step?.stepId ?? null,
        failedStepPath: engineError.step?.path ?? null,
        log,
        ...(engineError instanceof InternalStepError ? { internalCause: engineError.cause } : {}),
      };
    }
  }

  async runBlock(
    steps: readonly Step[],
    scope: RunScope,
    pathPrefix: string,
  ): Promise<StepOutput | null> {
    let last: StepOutput | null = null;
    for (const step of steps) {
      last = await this.#runStep(
        step,
        scope,
        pathPrefix === '' ? step.id : `${pathPrefix}.${step.id}`,
      );
      scope.set(step.id, last);
    }
    return last;
  }

  async beforeSideEffect(): Promise<void> {
    await this.#beforeSideEffect?.();
  }

  recordResponse(response: FlowResponse): void {
    if (this.#response !== null) return;
    this.#response = response;
    this.#responded = true;
  }

  async #runStep(step: Step, scope: RunScope, path: string): Promise<StepOutput> {
    const attempts: StepAttempt[] = [];
    const slot: StepInputSlot = { input: null };
    const entry = {
      stepId: step.id,
      path,
      type: step.type,
      startedAt: new Date().toISOString(),
      // The same array, filled as the tries happen.
      ...('retry' in step && step.retry !== undefined ? { attempts } : {}),
    };
    const startedAt = performance.now();
    const durationMs = () => Math.round((performance.now() - startedAt) * 1000) / 1000;
    try {
      throwIfOutOfTime(this.deadline, this.signal);
      const output = await this.#execute(step, scope, path, attempts, slot);
      const outputBytes = Buffer.byteLength(output.json);
      const { maxStepOutputBytes } = this.limits;
      if (outputBytes > maxStepOutputBytes) {
        throw new LimitExceededError(
          'maxStepOutputBytes',
          `output is ${outputBytes} bytes, over maxStepOutputBytes (${maxStepOutputBytes})`,
        );
      }
      // jsonb (the run record) refuses deep nesting; the step fails here, by name, instead of
      // the run failing to record its outcome.
      if (nestsDeeperThan(output.json)) {
        throw new StepFailedError(
          `output nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels, which cannot be stored`,
        );
      }
      this.#log.succeeded({ ...entry, durationMs: durationMs() }, output, outputBytes, slot.input);
      return output;
    } catch (error) {
      const engineError = toEngineError(error, { stepId: step.id, path });
      this.#log.failed({ ...entry, durationMs: durationMs() }, engineError.message, slot.input);
      throw engineError;
    }
  }

  #execute(
    step: Step,
    scope: RunScope,
    path: string,
    attempts: StepAttempt[],
    slot: StepInputSlot,
  ): Promise<StepOutput> | StepOutput {
    switch (step.type) {
      case 'code':
        return runWithRetry(step.retry, this, attempts, () =>
          executeCodeStep(step, scope, this, slot),
        );
      case 'http':
        return runWithRetry(step.retry, this, attempts, () =>
          executeHttpStep(step, scope, this, slot),
        );
      case 'branch':
        return executeBranchStep(step, scope, path, this, slot);
      case 'loop':
        return executeLoopStep(step, scope, path, this, slot);
      case 'respond':
        return executeRespondStep(step, scope, this, slot);
      default:
        return assertNever(step);
    }
  }
}
