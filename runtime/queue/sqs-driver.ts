import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { Database } from '../db/client';
import type { SessionConnection, SessionOptions } from '../db/session-connection';
import { forgetSighting, recordSighting, SIGHTING_EVERY_MS } from '../db/worker-sightings-store';
import { withTimeout } from '../timeout';
import { MalformedRunMessageError } from './malformed-run-message-error';
import { createResendLimiter } from './resend-limiter';
import { createRunHolds, HOLD_RETAKE_MS, heldRunIds, LOST_HOLD_GRACE_MS } from './run-holds';
import {
  type QueueDriver,
  type RunConsumer,
  type RunJob,
  type RunProcessor,
  stampedForEnqueue,
} from './run-queue';
import { sqsAction } from './sqs-action-error';
import { decodeRunMessage, encodeRunMessage } from './sqs-run-message';
import { createSqsWire, type SqsWire } from './sqs-wire';
import { VisibilityHeartbeat } from './visibility-heartbeat';

export interface SqsDriverOptions {
  client: SQSClient;
  queueUrl: string;
  db: Database;
  /** Opens the worker's own PostgreSQL session, where it holds the runs it has in hand. */
  openSession: (options: Omit<SessionOptions, 'access'>) => SessionConnection;
  /** Visibility timeout of a received message, renewed by the heartbeat (SLUICE_STALLED_AFTER_S). */
  stalledAfterS: number;
  /** SLUICE_RECONCILE_AFTER_S: a queued run is re-sent at most once per ten of these. */
  reconcileAfterS: number;
  /** This worker's id in worker_sightings, which counts the live workers. */
  workerId: string;
  /**
   * SLUICE_IDLE_RELEASE_S in ms: with no run in hand for this long, the worker closes its
   * session (a serverless Aurora can pause) and opens it again with the next message.
   * @default - the session stays open
   */
  idleReleaseMs?: number | undefined;
  logger: Logger;
  /**
   * The calls every run makes (tests wrap it to deliver messages twice).
   * @default - createSqsWire(client, queueUrl)
   */
  wire?: SqsWire | undefined;
}

/** pg_stat_activity's application_name of a worker's session. */
export const WORKER_SESSION_NAME = 'sluice-worker';

/** Bounds an enqueue on the request path; past it the caller gets 503 and the run is canceled. */
const ENQUEUE_TIMEOUT_MS = 1500;
/** SQS's longest long poll: an idle worker makes 3 requests a minute. */
const LONG_POLL_S = 20;
/** Re-sends per reconciler call; the rest wait for the next pass. */
const RESENDS_PER_CALL = 100;

/**
 * Runs on SQS (standard queue, at-least-once). A message carries the run id, and the
 * early-start copy when it fits. Workers long-poll one message per concurrency slot, keep it
 * hidden with a visibility heartbeat while the flow runs, and delete it once the outcome is
 * recorded. Duplicates are expected: a worker takes a run only with its PostgreSQL hold (see
 * run-holds) and only while the run is queued, and the attempt fence drops the rest.
 */
export function createSqsDriver(options: SqsDriverOptions): QueueDriver {
  const { client, queueUrl } = options;
  // The calls every run makes; the rare ones below stay on the SDK's client.
  const wire = options.wire ?? createSqsWire(client, queueUrl);
  const resends = createResendLimiter({
    everyMs: options.reconcileAfterS * 10_000,
    perCall: RESENDS_PER_CALL,
  });
  const send = (job: RunJob, abortSignal?: AbortSignal) =>
    sqsAction('SendMessage', () =>
      wire.sendMessage(encodeRunMessage(stampedForEnqueue(job)), abortSignal),
    );
  const deleteMessage = (message: Message) =>
    sqsAction('DeleteMessage', () => wire.deleteMessage(message.ReceiptHandle ?? ''));

  return {
    kind: 'sqs',
    queue: {
      async enqueue(job) {
        const abort = new AbortController();
        try {
          await withTimeout(send(job, abort.signal), ENQUEUE_TIMEOUT_MS, 'sqs');
        } finally {
          abort.abort();
        }
      },
      // SQS cannot say whether a message exists: a run is live while a worker holds it.
      liveJobIds: (runIds) => heldRunIds(options.db, runIds),
      lostJobGraceMs: LOST_HOLD_GRACE_MS,
      deferredResends: (runIds) => resends.deferred(runIds),
      async requeue(job) {
        await send(job);
        resends.sent(job.runId);
      },
      dependency: 'sqs',
      async ping(timeoutMs) {
        const abort = new AbortController();
        try {
          await withTimeout(
            sqsAction('GetQueueAttributes', () =>
              client.send(
                new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
                { abortSignal: abort.signal },
              ),
            ),
            timeoutMs,
            'sqs',
          );
        } finally {
          abort.abort();
        }
      },
      async close() {
        wire.close();
        client.destroy();
      },
    },
    consume: (processor, concurrency) =>
      consumeRuns(options, wire, processor, concurrency, deleteMessage),
  };
}

interface InHand {
  job: RunJob;
  heartbeat: VisibilityHeartbeat;
  handedOver: boolean;
}

function consumeRuns(
  options: SqsDriverOptions,
  wire: SqsWire,
  processor: RunProcessor,
  concurrency: number,
  deleteMessage: (message: Message) => Promise<unknown>,
): RunConsumer {
  const { client, queueUrl, logger } = options;
  let holds: ReturnType<typeof createRunHolds> | undefined;
  let sightedAt = 0;
  const session = options.openSession({
    applicationName: WORKER_SESSION_NAME,
    // After a lost session, take back the holds of the runs still in hand; a new session is
    // also this worker showing itself.
    onConnect: async (fresh) => {
      const letGo = (await holds?.relock(fresh)) ?? [];
      if (letGo.length > 0) {
        logger.warn(
          { runIds: letGo },
          'runs queued again while this worker had no session: left to their new message',
        );
      }
      await recordSighting(fresh, options.workerId);
      sightedAt = Date.now();
    },
  });
  holds = createRunHolds(session);
  const runHolds = holds;
  /** Messages being handled now, and when the last one began or ended. */
  let handling = 0;
  let lastWorkAt = Date.now();
  let probe: NodeJS.Timeout | undefined;
  const probeSession = () => {
    const { idleReleaseMs } = options;
    if (
      idleReleaseMs !== undefined &&
      handling === 0 &&
      runHolds.inHand.size === 0 &&
      Date.now() - lastWorkAt >= idleReleaseMs
    ) {
      // Resting: no connection and no query until the next message.
      clearInterval(probe);
      probe = undefined;
      void session.rest();
      return;
    }
    const query =
      Date.now() - sightedAt >= SIGHTING_EVERY_MS
        ? recordSighting(session, options.workerId).then(() => {
            sightedAt = Date.now();
          })
        : session.query('select 1');
    query.catch(() => undefined);
  };
  const keepProbing = () => {
    if (probe !== undefined) return;
    // Keeps the worker's session (and so its presence and holds) alive and noticed.
    probe = setInterval(probeSession, HOLD_RETAKE_MS);
    probe.unref();
  };
  keepProbing();
  // Seen at start, so a worker that has not taken a run yet counts too.
  session.query('select 1').catch(() => undefined);

  const inHand = new Map<string, InHand>();
  const stopping = new AbortController();

  /** Deletes a message that must not run, and says why in the log. */
  const discard = async (
    message: Message,
    level: 'debug' | 'warn' | 'error',
    fields: object,
    why: string,
  ) => {
    logger[level]({ messageId: message.MessageId, ...fields }, why);
    await deleteMessage(message);
  };

  async function handle(message: Message): Promise<void> {
    handling++;
    lastWorkAt = Date.now();
    keepProbing();
    try {
      await handleHeld(message);
    } finally {
      handling--;
      lastWorkAt = Date.now();
    }
  }

  /**
   * A sync caller whose run was canceled while queued is told now, not at its timeout, as on
   * the other queues: the processor, given the job without its copy of the run, finds nothing
   * to claim, so no step starts, and sends the canceled reply.
   */
  async function answerCanceled(job: RunJob): Promise<void> {
    try {
      await processor({ runId: job.runId, replyTo: job.replyTo });
    } catch (error) {
      logger.warn(
        { err: error, runId: job.runId },
        'canceled run not answered; its caller times out',
      );
    }
  }

  async function handleHeld(message: Message): Promise<void> {
    let job: RunJob;
    try {
      job = decodeRunMessage(message.Body);
    } catch (error) {
      if (!(error instanceof MalformedRunMessageError)) throw error;
      await discard(message, 'error', { reason: error.message }, 'malformed run message deleted');
      return;
    }
    const hold = await runHolds.take(job.runId);
    if (!hold.taken) {
      const runId = job.runId;
      if (hold.reason === 'held') {
        await discard(
          message,
          'debug',
          { runId },
          'duplicate delivery of a run in hand elsewhere deleted',
        );
      } else if (hold.status === null) {
        await discard(message, 'error', { runId }, 'message for an unknown run deleted');
      } else if (hold.status === 'running') {
        // Its worker died: the reconciler retries or fails it, counting the attempt.
        await discard(
          message,
          'warn',
          { runId },
          'message for a run whose worker was lost deleted',
        );
      } else {
        if (hold.status === 'canceled' && job.replyTo !== null) await answerCanceled(job);
        await discard(
          message,
          'debug',
          { runId, status: hold.status },
          'message for an ended run deleted',
        );
      }
      return;
    }
    const heartbeat = new VisibilityHeartbeat({
      client,
      queueUrl,
      receiptHandle: message.ReceiptHandle ?? '',
      visibilityTimeoutS: options.stalledAfterS,
      onError: (error) =>
        logger.warn({ err: error, runId: job.runId }, 'visibility heartbeat failed'),
    });
    const held: InHand = { job, heartbeat, handedOver: false };
    inHand.set(job.runId, held);
    let finished = false;
    try {
      await processor(job);
      finished = true;
    } catch (error) {
      // The message stays, and reappears after the visibility timeout.
      logger.error({ err: error, runId: job.runId }, 'run failed to process');
    } finally {
      heartbeat.stop();
      inHand.delete(job.runId);
      await runHolds.release(job.runId);
    }
    if (finished && !held.handedOver) await deleteMessage(message);
  }

  async function receiveLoop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      let messages: Message[];
      try {
        messages = await sqsAction('ReceiveMessage', () =>
          wire.receiveMessage(
            { waitTimeS: LONG_POLL_S, visibilityTimeoutS: options.stalledAfterS },
            stopping.signal,
          ),
        );
        failures = 0;
      } catch (error) {
        if (stopping.signal.aborted) return;
        failures++;
        logger.warn({ err: error, failures }, 'sqs receive failed');
        await pause(Math.min(250 * 2 ** failures, 5000), stopping.signal);
        continue;
      }
      for (const message of messages) {
        const handled = await handle(message).then(
          () => true,
          (error: unknown) => {
            logger.error({ err: error, messageId: message.MessageId }, 'run message not handled');
            return false;
          },
        );
        if (!handled) await untilSessionAnswers();
      }
    }
  }

  /**
   * After a message could not be handled, most often for want of PostgreSQL (its hold, claim
   * or record): no more is received until the session answers. Receiving on would only count
   * receives against every waiting message until the dead-letter queue took them all.
   */
  async function untilSessionAnswers(): Promise<void> {
    for (let failures = 1; !stopping.signal.aborted; failures++) {
      try {
        await session.query('select 1');
        return;
      } catch {
        await pause(Math.min(250 * 2 ** failures, 5000), stopping.signal);
      }
    }
  }

  const loops = Array.from({ length: concurrency }, receiveLoop);
  return {
    async close() {
      stopping.abort();
      await Promise.all(loops);
      // Probing means the session is open. A resting worker leaves its sighting to age out
      // rather than wake a paused database to delete it.
      const awake = probe !== undefined;
      clearInterval(probe);
      probe = undefined;
      if (awake) await forgetSighting(session, options.workerId).catch(() => undefined);
      await runHolds.close();
    },
    async handOver() {
      // No message is taken after this (see the BullMQ driver's handOver).
      stopping.abort();
      const handed: string[] = [];
      await Promise.all(
        [...inHand.values()].map(async (held) => {
          held.handedOver = true;
          // The hold goes first, so the worker that receives the message can take the run.
          await runHolds.release(held.job.runId);
          try {
            await held.heartbeat.release();
            handed.push(held.job.runId);
          } catch (error) {
            logger.warn(
              { err: error, runId: held.job.runId },
              'hand-back failed; the message reappears after its visibility timeout',
            );
          }
        }),
      );
      return handed;
    },
  };
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      done();
    });
  });
