import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { isDataRefusal } from '../db/database-refusal';
import { CANCELED_ERROR, canceledAmong, recordCanceledRun } from '../db/run-control-store';
import type { InterruptedRun } from '../db/run-interruption-store';
import {
  finishQueuedRun,
  finishRun,
  type RunResult,
  runExists,
  type StartedRun,
  startRun,
} from '../db/run-store';
import type { FlowOutcome, FlowRunner, FlowRunOptions, TriggerInput } from '../engine';
import { secretNames } from '../engine/secret-references';
import { hasSideEffectSteps } from '../engine/side-effect-steps';
import type { RunMetrics } from '../metrics/run-metrics';
import type { ReplyBus, RunReply } from '../queue/reply-bus';
import { preciseNow, type RunJob, type RunProcessor } from '../queue/run-queue';
import { UnknownRunError } from '../queue/unknown-run-error';
import type { SecretStore } from '../secrets/secret-store';
import { SecretUnreadableError } from '../secrets/secret-unreadable-error';
import { SecretsKeyMismatchError } from '../secrets/secrets-key-mismatch-error';
import type { CancelWatch } from './cancel-watch';
import { finishWithNotice, type NoticedFinish } from './finish-with-notice';
import { createFlowVersionCache } from './flow-version-cache';
import { InvalidFlowVersionError } from './invalid-flow-version-error';
import {
  inStorage,
  type LogPlacement,
  logDocument,
  placeLog as placeRunLog,
} from './run-log-placement';
import type { RunLogWriter } from './run-log-writer';
import { RunNotClaimedError } from './run-not-claimed-error';
import { summariseSteps } from './step-summary';

export interface RunProcessorDeps {
  db: Database;
  logs: RunLogWriter;
  runner: FlowRunner;
  /** Read for each run whose flow names secrets, so a rotation applies from the next run. */
  secrets: Pick<SecretStore, 'values'>;
  replies: Pick<ReplyBus, 'publish' | 'notice'>;
  flowTimeoutMs: number;
  logger: Logger;
  /** In-memory run counters and durations, flushed by the metrics loop. */
  runMetrics?: Pick<RunMetrics, 'recordRun' | 'recordMisroutedJob'>;
  /**
   * The queue this worker consumes (SLUICE_QUEUE_PREFIX for BullMQ), named when a job turns out
   * to belong to another deployment.
   * @default - 'unnamed'
   */
  queuePrefix?: string;
  /**
   * Stops a run canceled through the API while it runs.
   * @default - a run is not stopped mid-flow; a cancel still keeps its outcome from being recorded
   */
  cancelWatch?: Pick<CancelWatch, 'watch'>;
  /**
   * A run log of at most this many bytes is kept in the run row, written with the outcome;
   * a larger one goes to storage after the reply (SLUICE_INLINE_LOG_MAX_BYTES; 0: always storage).
   * @default 0
   */
  inlineLogMaxBytes?: number;
}

interface Executed {
  outcome: FlowOutcome;
  dispatchMs: number | null;
  /** Version load and flow, as the run duration metric counts it. */
  flowMs: number;
}

type Ran = Executed & { started: StartedRun };

/** A job's copy of a run that names its project: enough to record it with no claim. */
type UnclaimedCopy = NonNullable<RunJob['start']> & { projectId: string };

/**
 * How long a flow with no side effects runs before it claims its run: most end sooner and are
 * claimed and recorded in one statement; a longer one then shows as running, as any other.
 */
const UNCLAIMED_MS = 250;

/** The run was claimed and recorded in one statement; nothing is left to do. */
const RECORDED = Symbol('recorded');

/** A run processor, and the sync replies it has sent that may still be on their way. */
export type RunProcessorWithReplies = RunProcessor & {
  /** Resolves once every reply sent so far has been delivered or given up on. */
  drainReplies(): Promise<void>;
  /**
   * At the drain deadline, before their flows are stopped: these runs go back to the queue,
   * so nothing their flows end with from now on is recorded here (or claims them). Returns
   * each with the attempt this worker claimed it at, for marking it interrupted.
   */
  handBack(runIds: Iterable<string>): InterruptedRun[];
};

/**
 * Runs one job: claim the run row, execute the flow, record the outcome (fenced by attempt),
 * send the sync reply, then hand the log to the background writer. A flow's failure is a run status, never an
 * exception; only infrastructure errors throw, so BullMQ keeps the job.
 */
export function createRunProcessor(deps: RunProcessorDeps): RunProcessorWithReplies {
  const loadFlowVersion = createFlowVersionCache(deps.db);
  /** Replies sent after their run's record and not yet delivered (see announce). */
  const repliesOnTheirWay = new Set<Promise<void>>();
  /** Runs handed back to the queue while their flows still run here (see handBack). */
  const handedBack = new Set<string>();
  /** The attempt each run in hand was claimed at: a hand-back marks only that attempt. */
  const claimedAttempts = new Map<string, number>();
  const claimRun = async (runId: string): Promise<StartedRun | null> => {
    const started = await startRun(deps.db, runId);
    if (started !== null) claimedAttempts.set(runId, started.attempt);
    return started;
  };
  /** A stopped flow's outcome is not its run's: the next worker runs it. */
  const wasHandedBack = (job: RunJob) => {
    if (!handedBack.has(job.runId)) return false;
    deps.logger.info({ runId: job.runId }, 'run handed back; its outcome here is dropped');
    return true;
  };

  /** Loads the version and runs the flow; a broken version is a failed run, not a crash. */
  async function execute(
    job: RunJob,
    flowVersionId: string,
    trigger: unknown,
    deadline: number,
    projectId: () => Promise<string>,
    early?: Pick<FlowRunOptions, 'signal' | 'beforeSideEffect'>,
  ): Promise<Executed> {
    let dispatchMs: number | null = null;
    const startedAt = performance.now();
    try {
      const definition = await loadFlowVersion(flowVersionId);
      const names = secretNames(definition);
      const secrets =
        names.length === 0 ? undefined : await deps.secrets.values(await projectId(), names);
      if (job.enqueuedAt !== undefined) {
        dispatchMs = Math.max(0, Math.round((preciseNow() - job.enqueuedAt) * 1000) / 1000);
      }
      const outcome = await deps.runner.run(definition, trigger as TriggerInput, {
        deadline,
        ...early,
        ...(secrets === undefined ? {} : { secrets }),
      });
      if (outcome.status !== 'succeeded' && outcome.internalCause !== undefined) {
        deps.logger.error(
          { err: outcome.internalCause, runId: job.runId, failedStep: outcome.failedStep },
          'a step failed on an internal error',
        );
      }
      return { outcome, dispatchMs, flowMs: performance.now() - startedAt };
    } catch (error) {
      // A run that is not ours is discarded by the caller; the others end the run failed.
      if (
        !(error instanceof InvalidFlowVersionError) &&
        !(error instanceof SecretsKeyMismatchError) &&
        !(error instanceof SecretUnreadableError) &&
        !(error instanceof RunNotClaimedError)
      ) {
        throw error;
      }
      const outcome: FlowOutcome = {
        status: 'failed',
        error: error.message,
        failedStep: null,
        failedStepPath: null,
        log: [],
      };
      return { outcome, dispatchMs, flowMs: performance.now() - startedAt };
    }
  }

  /**
   * A claim that found nothing: a duplicate delivery of a run that already ended, or a job this
   * database has never heard of. The latter is another deployment's job (same Redis and queue
   * prefix, another database): said loudly, counted, and thrown so the driver leaves the job for
   * its owner rather than acknowledging it.
   */
  async function notClaimed(job: RunJob): Promise<null> {
    if (await runExists(deps.db, job.runId)) {
      // A sync caller whose run was canceled while queued is told now, not at its timeout.
      if (job.replyTo !== null && (await canceledAmong(deps.db, [job.runId])).length > 0) {
        await publishReply(job.replyTo, canceledReply(job.runId, null));
      }
      return null;
    }
    const queuePrefix = deps.queuePrefix ?? 'unnamed';
    deps.logger.error(
      { runId: job.runId, queuePrefix },
      'job for a run this database does not know: another deployment shares this queue (same Redis and SLUICE_QUEUE_PREFIX); give each deployment its own prefix',
    );
    deps.runMetrics?.recordMisroutedJob();
    throw new UnknownRunError(job.runId, queuePrefix);
  }

  /** Claims first, then runs: the path of jobs that carry no copy of their run. */
  async function claimThenRun(
    job: RunJob,
    deadline: number,
    canceled: AbortSignal | undefined,
  ): Promise<Ran | null> {
    const started = await claimRun(job.runId);
    if (started === null) return notClaimed(job);
    const projectId = async () => started.projectId;
    const ran = await execute(
      job,
      started.flowVersionId,
      started.trigger,
      deadline,
      projectId,
      canceled === undefined ? undefined : { signal: canceled },
    );
    return { started, ...ran };
  }

  /**
   * Runs from the job's copy while the claim is in flight. Nothing leaves the sandbox before
   * the claim returns, and a run that is not ours (a duplicate delivery) is stopped and
   * discarded.
   *
   * With `claimAfterMs`, the claim waits: a flow with no side effects that ends sooner is
   * claimed and recorded in one fenced statement (recordUnclaimed), a round trip and a commit
   * fewer. A longer one is claimed then (so it shows as running, and counts its attempt), and
   * a step with side effects claims before it acts, whatever the delay.
   */
  async function runWhileClaiming(
    job: RunJob,
    early: NonNullable<RunJob['start']>,
    deadline: number,
    canceled: AbortSignal | undefined,
    claimAfterMs = 0,
  ): Promise<Ran | null | typeof RECORDED> {
    const isOurs = (row: StartedRun | null) => row?.flowVersionId === early.flowVersionId;
    const notOurs = new AbortController();
    let claim: Promise<StartedRun | null> | null = null;
    const claimNow = () => {
      claim ??= claimRun(job.runId).then(
        (row) => {
          if (!isOurs(row)) notOurs.abort();
          return row;
        },
        (error: unknown) => {
          notOurs.abort();
          throw error;
        },
      );
      claim.catch(() => undefined); // awaited below; this only marks the rejection handled
      return claim;
    };
    const claimTimer = claimAfterMs > 0 ? setTimeout(claimNow, claimAfterMs) : undefined;
    if (claimTimer === undefined) claimNow();
    // A flow that reads secrets learns its project from the copy, else waits for the claim.
    const projectId = async () => {
      if (early.projectId !== undefined) return early.projectId;
      const row = await claimNow();
      if (row === null || !isOurs(row)) throw new RunNotClaimedError(job.runId);
      return row.projectId;
    };
    const ran = await execute(job, early.flowVersionId, early.trigger, deadline, projectId, {
      signal: canceled === undefined ? notOurs.signal : AbortSignal.any([notOurs.signal, canceled]),
      beforeSideEffect: async () => {
        if (!isOurs(await claimNow())) throw new RunNotClaimedError(job.runId);
      },
    });
    clearTimeout(claimTimer);
    if (wasHandedBack(job)) return null;
    // Not claimed yet: the flow ended within claimAfterMs with no side effect.
    if ((claim as typeof claim | null) === null && early.projectId !== undefined) {
      const copy = { ...early, projectId: early.projectId };
      if (await recordUnclaimed(job, copy, ran)) return RECORDED;
    }
    const started = await claimNow();
    if (started === null) return notClaimed(job);
    if (isOurs(started)) return { started, ...ran };
    return rerunFromRow(job, started, deadline, canceled);
  }

  /**
   * Only a job not written by this version of the app can disagree with its row; the row is
   * the record, so the flow runs again from it.
   */
  async function rerunFromRow(
    job: RunJob,
    started: StartedRun,
    deadline: number,
    canceled: AbortSignal | undefined,
  ): Promise<Ran> {
    deps.logger.warn({ runId: job.runId }, 'job copy disagrees with the run row; rerun');
    const fromRow = async () => started.projectId;
    const signal = canceled === undefined ? undefined : { signal: canceled };
    return {
      started,
      ...(await execute(job, started.flowVersionId, started.trigger, deadline, fromRow, signal)),
    };
  }

  /** Whether the version's flow can run unclaimed: it loads, and no step acts outside the run. */
  async function runsWithoutClaim(flowVersionId: string): Promise<boolean> {
    try {
      return !hasSideEffectSteps(await loadFlowVersion(flowVersionId));
    } catch {
      return false; // the usual path ends a broken version as a failed run
    }
  }

  /** Claims and records in one statement; false when the row is not the queued run copied. */
  async function recordUnclaimed(
    job: RunJob,
    early: UnclaimedCopy,
    { outcome, dispatchMs, flowMs }: Executed,
  ): Promise<boolean> {
    // The statement moves the run from attempt 0 (the app's insert) to 1.
    const attempt = 1;
    const body = logDocument(job.runId, attempt, {
      ...withoutInternalCause(outcome),
      reply: undefined,
    });
    const placement = placeLog(early.projectId, job.runId, body);
    const result = { ...toRunResult(outcome, placement), dispatchMs, flowMs };
    const copy = { projectId: early.projectId, flowVersionId: early.flowVersionId, attempt: 0 };
    let finished: NoticedFinish;
    try {
      finished = await finishWithNotice(
        (notice) => finishQueuedRun(deps.db, job.runId, copy, result, notice),
        replyNotice(job, outcome),
      );
    } catch (error) {
      // Refused data: the claimed path records the run as failed, with a fixed error.
      if (!isDataRefusal(error)) throw error;
      return false;
    }
    if (!finished.recorded) return false;
    await announce(job, attempt, {
      outcome,
      status: result.status,
      flowMs,
      placement,
      body,
      replied: finished.replied,
    });
    return true;
  }

  /**
   * The sync reply as a NOTIFY for the outcome's statement to send, where the reply bus is
   * PostgreSQL's: no round trip and no commit of its own.
   */
  function replyNotice(job: RunJob, outcome: FlowOutcome) {
    if (job.replyTo === null || deps.replies.notice === undefined) return undefined;
    return deps.replies.notice(job.replyTo, toReply(job.runId, outcome));
  }

  /**
   * After the record: counts the run, answers a sync caller (unless the record `replied`), and
   * stores a large log.
   */
  async function announce(
    job: RunJob,
    attempt: number,
    ended: {
      outcome: FlowOutcome;
      status: RunResult['status'];
      flowMs: number;
      placement: LogPlacement;
      body: string;
      replied: boolean;
    },
  ) {
    deps.runMetrics?.recordRun(ended.status, ended.flowMs);
    // The job is done once its run is recorded: the reply goes out with the job's completion
    // rather than before it (one round trip fewer on the run's path, about 5% of a sync run's
    // CPU in the bench), and a stopping worker waits for it (drainReplies).
    if (job.replyTo !== null && !ended.replied) {
      const sending = publishReply(job.replyTo, toReply(job.runId, ended.outcome));
      repliesOnTheirWay.add(sending);
      void sending.finally(() => repliesOnTheirWay.delete(sending));
    }
    await storeLargeLog(job.runId, attempt, ended.placement, ended.body);
  }

  async function publishReply(replyTo: string, reply: RunReply) {
    await deps.replies.publish(replyTo, reply).catch((error) => {
      // The waiter falls back to reading the run row when its timer fires.
      deps.logger.warn({ err: error, runId: reply.runId }, 'sync reply not delivered');
    });
  }

  /**
   * A run canceled under this worker: the cancel already ended its row, so this adds the steps
   * it got through and its log, and tells a sync caller. False when another attempt owns it.
   */
  async function recordCanceled(job: RunJob, ran: Ran): Promise<boolean> {
    const { started, outcome, dispatchMs } = ran;
    const steps = summariseSteps(outcome.log);
    const failedStep = outcome.status === 'succeeded' ? null : outcome.failedStep;
    const body = logDocument(job.runId, started.attempt, {
      status: 'canceled',
      error: CANCELED_ERROR,
      failedStep,
      log: outcome.log,
    });
    const placement = placeLog(started.projectId, job.runId, body);
    const record = { ...placement, failedStep, steps, dispatchMs };
    if (!(await recordCanceledRun(deps.db, job.runId, started.attempt, record))) return false;
    if (job.replyTo !== null) await publishReply(job.replyTo, canceledReply(job.runId, failedStep));
    await storeLargeLog(job.runId, started.attempt, placement, body);
    return true;
  }

  const placeLog = (projectId: string, runId: string, body: string) =>
    placeRunLog(deps.inlineLogMaxBytes ?? 0, projectId, runId, body);

  /** Hands a log too large for the row (the outcome and every step's output) to the background writer. */
  async function storeLargeLog(
    runId: string,
    attempt: number,
    placement: LogPlacement,
    body: string,
  ) {
    if (placement.logKey === null) return;
    await deps.logs.write({ runId, attempt, key: placement.logKey, body });
  }

  async function processRun(job: RunJob): Promise<void> {
    const cancel = deps.cancelWatch?.watch(job.runId);
    try {
      await processWatchedRun(job, cancel?.signal);
    } finally {
      cancel?.stop();
      handedBack.delete(job.runId);
      claimedAttempts.delete(job.runId);
    }
  }
  return Object.assign(processRun, {
    async drainReplies() {
      await Promise.all(repliesOnTheirWay);
    },
    handBack(runIds: Iterable<string>) {
      return [...runIds].map((runId) => {
        handedBack.add(runId);
        return { runId, attempt: claimedAttempts.get(runId) ?? null };
      });
    },
  });

  /** Runs the job's flow: claimed first, or from the job's copy while claiming (or before). */
  async function runJob(
    job: RunJob,
    deadline: number,
    canceled: AbortSignal | undefined,
  ): Promise<Ran | null | typeof RECORDED> {
    const early = job.start;
    if (early === undefined) return claimThenRun(job, deadline, canceled);
    const unclaimedFirst =
      early.projectId !== undefined && (await runsWithoutClaim(early.flowVersionId));
    return runWhileClaiming(job, early, deadline, canceled, unclaimedFirst ? UNCLAIMED_MS : 0);
  }

  async function processWatchedRun(job: RunJob, canceled: AbortSignal | undefined) {
    const t0 = performance.now();
    const deadline = Date.now() + deps.flowTimeoutMs;
    const ran = await runJob(job, deadline, canceled);
    if (ran === null || ran === RECORDED || wasHandedBack(job)) return;
    const { started, dispatchMs, flowMs } = ran;
    let { outcome } = ran;

    const t1 = performance.now();
    let body = logDocument(job.runId, started.attempt, {
      ...withoutInternalCause(outcome),
      // The unredacted reply goes to the caller; the log keeps only the redacted response.
      reply: undefined,
    });
    let placement = placeLog(started.projectId, job.runId, body);
    let result = { ...toRunResult(outcome, placement), dispatchMs };
    const finish = (ended: FlowOutcome, record: RunResult) =>
      finishWithNotice(
        (notice) => finishRun(deps.db, job.runId, started.attempt, record, notice),
        replyNotice(job, ended),
      );
    let finished: NoticedFinish;
    try {
      finished = await finish(outcome, result);
    } catch (error) {
      // Outputs are made storable before this; should PostgreSQL still refuse them, the run
      // ends failed with a fixed error rather than running again and again.
      if (!isDataRefusal(error)) throw error;
      deps.logger.error({ err: error, runId: job.runId }, 'run outcome refused by the database');
      outcome = unrecordableOutcome();
      // The refused log (if it was inline) goes to storage, with the steps the row could not hold.
      body = logDocument(job.runId, started.attempt, { ...outcome, log: ran.outcome.log });
      placement = inStorage(started.projectId, job.runId);
      result = { ...toRunResult(outcome, placement), dispatchMs };
      finished = await finish(outcome, result);
    }
    const { recorded } = finished;
    const t2 = performance.now();
    // Not recorded: canceled (the cancel ended the row), or a newer attempt owns the run.
    if (!recorded && (await recordCanceled(job, ran))) {
      deps.runMetrics?.recordRun('canceled', flowMs);
      return;
    }
    if (!recorded) {
      deps.logger.warn({ runId: job.runId, attempt: started.attempt }, 'newer attempt owns run');
      return;
    }
    await announce(job, started.attempt, {
      outcome,
      status: result.status,
      flowMs,
      placement,
      body,
      replied: finished.replied,
    });
    deps.logger.debug(
      {
        runId: job.runId,
        status: result.status,
        ms: { claimAndFlow: t1 - t0, flow: flowMs, record: t2 - t1 },
      },
      'run finished',
    );
  }
}

const canceledReply = (runId: string, failedStep: string | null): RunReply => ({
  runId,
  status: 'canceled',
  error: CANCELED_ERROR,
  failedStep,
});

function unrecordableOutcome(): FlowOutcome {
  return {
    status: 'failed',
    error: 'the run ended but its outcome could not be stored',
    failedStep: null,
    failedStepPath: null,
    // The step summary is what the record could not hold; the run log in storage keeps it.
    log: [],
  };
}

function toRunResult(outcome: FlowOutcome, log: LogPlacement): Omit<RunResult, 'dispatchMs'> {
  const steps = summariseSteps(outcome.log);
  if (outcome.status === 'succeeded') {
    return {
      status: 'succeeded',
      error: null,
      failedStep: null,
      ...log,
      responseStatus: outcome.response.status,
      response: outcome.response.body ?? null,
      steps,
    };
  }
  return {
    status: outcome.status,
    error: outcome.error,
    failedStep: outcome.failedStep,
    ...log,
    responseStatus: null,
    response: null,
    steps,
  };
}

/** The run log is for the flow's author: an internal error's cause stays in the worker log. */
function withoutInternalCause(outcome: FlowOutcome): FlowOutcome {
  if (outcome.status === 'succeeded' || outcome.internalCause === undefined) return outcome;
  const { internalCause: _operatorsOnly, ...stored } = outcome;
  return stored;
}

function toReply(runId: string, outcome: FlowOutcome): RunReply {
  if (outcome.status === 'succeeded') {
    // The respond step's reply is the one place a secret may leave (see FlowOutcome.reply).
    const response = outcome.reply ?? outcome.response;
    return {
      runId,
      status: 'succeeded',
      responseStatus: response.status,
      body: response.body,
      ...(response.headers ? { headers: response.headers } : {}),
    };
  }
  return { runId, status: outcome.status, error: outcome.error, failedStep: outcome.failedStep };
}
