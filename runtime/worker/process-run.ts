import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { finishRun, type RunResult, type StartedRun, startRun } from '../db/run-store';
import type { FlowOutcome, FlowRunner, FlowRunOptions, TriggerInput } from '../engine';
import type { RunMetrics } from '../metrics/run-metrics';
import type { ReplyBus, RunReply } from '../queue/reply-bus';
import { preciseNow, type RunJob, type RunProcessor } from '../queue/run-queue';
import { storageKey } from '../storage';
import { createFlowVersionCache } from './flow-version-cache';
import { InvalidFlowVersionError } from './invalid-flow-version-error';
import type { RunLogWriter } from './run-log-writer';
import { RunNotClaimedError } from './run-not-claimed-error';
import { summariseSteps } from './step-summary';

export interface RunProcessorDeps {
  db: Database;
  logs: RunLogWriter;
  runner: FlowRunner;
  replies: Pick<ReplyBus, 'publish'>;
  flowTimeoutMs: number;
  logger: Logger;
  /** In-memory run counters and durations, flushed by the metrics loop. */
  runMetrics?: Pick<RunMetrics, 'recordRun'>;
}

/**
 * Runs one job: claim the run row, execute the flow, record the outcome (fenced by attempt),
 * send the sync reply, then hand the log to the background writer. A flow's failure is a run status, never an
 * exception; only infrastructure errors throw, so BullMQ keeps the job.
 */
export function createRunProcessor(deps: RunProcessorDeps): RunProcessor {
  const loadFlowVersion = createFlowVersionCache(deps.db);

  /** Loads the version and runs the flow; a broken version is a failed run, not a crash. */
  async function execute(
    job: RunJob,
    flowVersionId: string,
    trigger: unknown,
    deadline: number,
    early?: Pick<FlowRunOptions, 'signal' | 'beforeSideEffect'>,
  ): Promise<{ outcome: FlowOutcome; dispatchMs: number | null }> {
    let dispatchMs: number | null = null;
    try {
      const definition = await loadFlowVersion(flowVersionId);
      if (job.enqueuedAt !== undefined) {
        dispatchMs = Math.max(0, Math.round((preciseNow() - job.enqueuedAt) * 1000) / 1000);
      }
      const outcome = await deps.runner.run(definition, trigger as TriggerInput, {
        deadline,
        ...early,
      });
      return { outcome, dispatchMs };
    } catch (error) {
      if (!(error instanceof InvalidFlowVersionError)) throw error;
      const outcome: FlowOutcome = {
        status: 'failed',
        error: error.message,
        failedStep: null,
        failedStepPath: null,
        log: [],
      };
      return { outcome, dispatchMs };
    }
  }

  return async function processRun(job: RunJob): Promise<void> {
    const t0 = performance.now();
    const startedAt = Date.now();
    const deadline = startedAt + deps.flowTimeoutMs;
    const claim = startRun(deps.db, job.runId);
    let started: StartedRun | null;
    let ran: { outcome: FlowOutcome; dispatchMs: number | null };
    let t1: number;
    if (job.start === undefined) {
      started = await claim;
      if (started === null) return; // already ended: a duplicate delivery
      t1 = performance.now();
      ran = await execute(job, started.flowVersionId, started.trigger, deadline);
    } else {
      // The flow starts while the claim is in flight; nothing leaves the sandbox before the
      // claim returns, and a run that is not ours (a duplicate delivery) is stopped and
      // discarded.
      const early = job.start;
      const notOurs = new AbortController();
      const claimed = claim.then(
        (row) => {
          if (row === null || row.flowVersionId !== early.flowVersionId) notOurs.abort();
          return row;
        },
        (error: unknown) => {
          notOurs.abort();
          throw error;
        },
      );
      claimed.catch(() => undefined); // awaited below; this only marks the rejection handled
      t1 = performance.now();
      ran = await execute(job, early.flowVersionId, early.trigger, deadline, {
        signal: notOurs.signal,
        beforeSideEffect: async () => {
          if ((await claimed)?.flowVersionId !== early.flowVersionId) {
            throw new RunNotClaimedError(job.runId);
          }
        },
      });
      started = await claimed;
      if (started === null) return; // already ended: a duplicate delivery
      if (started.flowVersionId !== early.flowVersionId) {
        // Only a job not written by this version of the app can disagree with its row; the
        // row is the record, so the flow runs again from it.
        deps.logger.warn({ runId: job.runId }, 'job copy disagrees with the run row; rerun');
        ran = await execute(job, started.flowVersionId, started.trigger, deadline);
      }
    }
    const { outcome, dispatchMs } = ran;

    const t2 = performance.now();
    const logKey = storageKey(started.projectId, 'RUN_LOG', job.runId);
    const result = { ...toRunResult(outcome, logKey), dispatchMs };
    const recorded = await finishRun(deps.db, job.runId, started.attempt, result);
    const t3 = performance.now();
    if (!recorded) {
      deps.logger.warn({ runId: job.runId, attempt: started.attempt }, 'newer attempt owns run');
      return;
    }
    deps.runMetrics?.recordRun(result.status, t2 - t1);
    if (job.replyTo !== null) {
      await deps.replies.publish(job.replyTo, toReply(job.runId, outcome)).catch((error) => {
        // The waiter falls back to reading the run row when its timer fires.
        deps.logger.warn({ err: error, runId: job.runId }, 'sync reply not delivered');
      });
    }
    await deps.logs.write({
      runId: job.runId,
      attempt: started.attempt,
      key: logKey,
      body: JSON.stringify({ runId: job.runId, attempt: started.attempt, ...outcome }),
    });
    deps.logger.debug(
      {
        runId: job.runId,
        status: result.status,
        ms: { claim: t1 - t0, flow: t2 - t1, record: t3 - t2 },
      },
      'run finished',
    );
  };
}

function toRunResult(outcome: FlowOutcome, logKey: string): Omit<RunResult, 'dispatchMs'> {
  const steps = summariseSteps(outcome.log);
  if (outcome.status === 'succeeded') {
    return {
      status: 'succeeded',
      error: null,
      failedStep: null,
      logKey,
      responseStatus: outcome.response.status,
      response: outcome.response.body ?? null,
      steps,
    };
  }
  return {
    status: outcome.status,
    error: outcome.error,
    failedStep: outcome.failedStep,
    logKey,
    responseStatus: null,
    response: null,
    steps,
  };
}

function toReply(runId: string, outcome: FlowOutcome): RunReply {
  if (outcome.status === 'succeeded') {
    return {
      runId,
      status: 'succeeded',
      responseStatus: outcome.response.status,
      body: outcome.response.body,
      ...(outcome.response.headers ? { headers: outcome.response.headers } : {}),
    };
  }
  return { runId, status: outcome.status, error: outcome.error, failedStep: outcome.failedStep };
}
