import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isDataRefusal } from '../../db/database-refusal';
import { insertQueuedRunOnce } from '../../db/idempotent-run-store';
import { inJsonbKeyOrder } from '../../db/jsonb-key-order';
import { cancelUnclaimedRun } from '../../db/run-recovery-store';
import {
  findRunOutcome,
  type InsertedWebhookRun,
  insertWebhookRuns,
  type WebhookRun,
} from '../../db/run-store';
import { naturalBatcher } from '../../natural-batcher';
import type { RunReply } from '../../queue/reply-bus';
import type { RouteDeps } from '../deps';
import { ApiError } from '../errors';
import { bodyLimit } from '../middleware/body-limit';
import { webhookBodyMemory } from '../middleware/webhook-body-memory';
import { publicOperation } from '../openapi-auth';
import { syncReplyResponse } from '../sync-reply-response';
import { orUnavailable } from '../unavailable';
import { validationHook } from '../validation-hook';
import { createWebhookMemoryBudget } from '../webhook-memory-budget';
import { SIGNATURE_HEADER, signingSecret, TIMESTAMP_HEADER } from '../webhook-signature';
import { readWebhookRequest } from '../webhook-trigger';

/**
 * Batches of the run INSERT out at once; with the rest of the pool left for other queries.
 * Two, not more: webhooks that arrive while both are out wait for the next batch, so batches
 * grow and each run costs PostgreSQL a smaller share of a statement and a commit (sync bench,
 * c=50: 0.64 ms of PostgreSQL CPU per run with four out, 0.54 with two, 0.50 with one); and
 * one slow batch (a trigger of a MiB) still does not hold up every webhook behind it. When a
 * batch fails on an outage, the webhooks still waiting fail with it (failsWaiting).
 */
const INSERT_BATCHES_IN_FLIGHT = 2;
const INSERT_BATCH_MAX_RUNS = 64;
/** A batch stops growing at 1 MiB of triggers; a bigger trigger goes alone. */
const INSERT_BATCH_MAX_BYTES = 1024 * 1024;
/**
 * A sync run whose trigger is at most this many characters of JSON carries a copy in its job, so the worker can
 * start the flow before its claim returns; larger triggers are read from the run row only,
 * keeping Redis memory small whatever callers send.
 */
const JOB_TRIGGER_COPY_MAX_CHARS = 16 * 1024;

const params = z.object({ flowId: z.string().min(1).max(100) });
const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'A repeat within 24 h returns the first run id and starts nothing' }),
});

// The body is read raw by the handler (the signature covers its exact bytes), so the routes
// declare no body schema: zod-openapi would otherwise parse it a second time.
const bodyNote = `The body is any JSON (application/json). When the flow has a webhook secret, send ${TIMESTAMP_HEADER}: <Unix seconds> (within SLUICE_WEBHOOK_TOLERANCE_S of the server's clock) and ${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">; otherwise 401 (missing_timestamp, invalid_timestamp, stale_timestamp or invalid_signature). After a rotation the replaced secret also signs, for SLUICE_WEBHOOK_SECRET_OVERLAP_S.`;

/** What either webhook answers when it starts no run. */
const refusals = {
  400: { description: 'body is not JSON, nests too deep, or holds text PostgreSQL cannot store' },
  401: {
    description:
      'missing_timestamp, invalid_timestamp, stale_timestamp or invalid_signature (the flow has a webhook secret)',
  },
  404: { description: 'unknown or deleted flow' },
  409: { description: 'flow disabled (flow_disabled), or changed three times during the request' },
  413: {
    description:
      'body over SLUICE_MAX_WEBHOOK_PAYLOAD_MB, or needing more memory than the server gives one request',
  },
  415: { description: 'a body that is not application/json' },
  503: {
    description:
      'PostgreSQL or the queue (Redis or SQS) unavailable, or the server busy with other large bodies (overloaded); no run was started',
  },
};

const asyncWebhook = createRoute({
  method: 'post',
  path: '/v1/webhooks/{flowId}',
  ...publicOperation,
  summary: 'Start a run; answers once the run is committed and enqueued',
  description: bodyNote,
  request: { params, headers: idempotencyHeaders },
  responses: {
    ...refusals,
    202: {
      description: 'accepted',
      content: { 'application/json': { schema: z.object({ runId: z.string() }) } },
    },
  },
});

const syncWebhook = createRoute({
  method: 'post',
  path: '/v1/webhooks/{flowId}/sync',
  ...publicOperation,
  summary: 'Start a run and answer with its response, waiting up to SLUICE_WEBHOOK_TIMEOUT_S',
  description: bodyNote,
  request: { params },
  responses: {
    200: { description: "the respond step's status and body, or the last step's output" },
    500: {
      description: 'the run failed',
      content: {
        'application/json': {
          schema: z.object({
            runId: z.string(),
            status: z.string(),
            error: z.string(),
            failedStep: z.string().nullable(),
          }),
        },
      },
    },
    ...refusals,
    504: { description: 'the run is still going; poll GET /v1/runs/{runId}' },
  },
});

export function webhookRoutes(deps: RouteDeps) {
  const { env, database, queue, replies } = deps;
  const db = database.db;
  const timeoutMs = env.SLUICE_WEBHOOK_TIMEOUT_S * 1000;

  const targets = deps.webhookTargets;
  // What the bodies of the webhooks in flight may cost this process together.
  const bodyMemory = createWebhookMemoryBudget();
  // Concurrent webhooks share one INSERT (and one commit) instead of one each.
  const insertRun = naturalBatcher<WebhookRun, InsertedWebhookRun | null>({
    send: (batch) => insertWebhookRuns(db, batch),
    maxInFlight: INSERT_BATCHES_IN_FLIGHT,
    maxItems: INSERT_BATCH_MAX_RUNS,
    maxWeight: INSERT_BATCH_MAX_BYTES,
    weight: (run) => run.triggerJson.length,
    // A row PostgreSQL refuses must fail only its own request, never its batch-mates'.
    retryAlone: isDataRefusal,
    // Anything else is PostgreSQL failing or too slow: the webhooks waiting behind the batch
    // get their 503 with it, within the query bound, not after a bound of their own as well.
    failsWaiting: (error) => !isDataRefusal(error),
  });

  /** The flow's target, or the 404/409 a webhook to it gets. */
  async function acceptingTarget(flowId: string, fresh: boolean) {
    const target = await orUnavailable('database', () => targets.get(flowId, { fresh }));
    if (target === null) throw new ApiError(404, 'flow_not_found', `flow ${flowId} not found`);
    if (target.status !== 'enabled' || target.currentVersionId === null) {
      throw new ApiError(409, 'flow_disabled', `flow ${flowId} is disabled`);
    }
    return { ...target, currentVersionId: target.currentVersionId };
  }

  /**
   * Commits the queued run (the outbox row) and returns its id: one guarded statement, which
   * inserts only while the flow still accepts the request as it was judged (status, secret).
   * Without an Idempotency-Key the request may be judged on the cached target; when the flow
   * changed since it was cached, the target is read afresh and the request judged again.
   * `withJobCopy` (a sync webhook) also returns what the job carries for an early start.
   */
  async function commitRun(
    c: Context,
    flowId: string,
    idempotencyKey: string | undefined,
    withJobCopy: boolean,
  ) {
    let target = await acceptingTarget(flowId, idempotencyKey !== undefined);
    const { bytes, trigger } = await readWebhookRequest(c, c.get('webhookBodyMemory'));
    const signed = {
      body: bytes,
      signature: c.req.header(SIGNATURE_HEADER),
      timestamp: c.req.header(TIMESTAMP_HEADER),
    };
    const id = randomUUID();
    const triggerJson = JSON.stringify(trigger);
    for (let attempt = 0; attempt < 3; attempt++) {
      const fresh = attempt > 0 || idempotencyKey !== undefined;
      if (attempt > 0) target = await acceptingTarget(flowId, true);
      let secret: string | null;
      try {
        secret = signingSecret(target, signed, env.SLUICE_WEBHOOK_TOLERANCE_S);
      } catch (refusal) {
        // A cached secret may have been rotated since: judge a refusal on a fresh read.
        if (!fresh) continue;
        throw refusal;
      }
      const run = { id, flowId, triggerJson, webhookSecret: secret };
      if (idempotencyKey !== undefined) {
        const once = await orUnavailable('database', () =>
          insertQueuedRunOnce(db, run, idempotencyKey),
        );
        if (once !== null) return once;
        continue;
      }
      const inserted = await orUnavailable('database', () => insertRun(run));
      if (inserted !== null) {
        const start =
          withJobCopy && triggerJson.length <= JOB_TRIGGER_COPY_MAX_CHARS
            ? {
                flowVersionId: inserted.flowVersionId,
                projectId: inserted.projectId,
                trigger: inJsonbKeyOrder(trigger),
              }
            : undefined;
        return { runId: id, created: true, projectId: inserted.projectId, start };
      }
    }
    throw new ApiError(409, 'flow_changed', `flow ${flowId} changed during the request; retry`);
  }

  /**
   * Validates, commits the run row (the outbox) and only then enqueues the job. When the
   * enqueue fails, the run is canceled (enqueue_failed) and the caller gets 503, so a refused
   * run never runs; if a worker already claimed it, the enqueue did land and the run is kept.
   */
  async function acceptRun(
    c: Context,
    flowId: string,
    replyTo: string | null,
    idempotencyKey?: string,
  ) {
    const committed = await commitRun(c, flowId, idempotencyKey, replyTo !== null);
    // Stored: the body and what parsing built are garbage now, not held while a caller waits.
    c.get('webhookBodyMemory').release();
    const { runId, created, projectId } = committed;
    // A repeated Idempotency-Key: the first request's run stands, and nothing new is enqueued.
    if (!created) return { runId, projectId, wait: null };
    const wait = replyTo === null ? null : replies.waitFor(runId, timeoutMs);
    // Only a waiting caller gains from the early start; async jobs stay small.
    const start = 'start' in committed ? committed.start : undefined;
    try {
      await orUnavailable('queue', () =>
        queue.enqueue(start === undefined ? { runId, replyTo } : { runId, replyTo, start }),
      );
    } catch (error) {
      const canceled = await cancelUnclaimedRun(db, runId).catch(() => false);
      // Not canceled: a worker claimed it, a repeat of its Idempotency-Key was already told
      // 202, or PostgreSQL is gone too; the reconciler enqueues a committed row still queued.
      // Either way the run will run, so it is accepted.
      if (canceled) {
        wait?.cancel();
        throw error;
      }
    }
    return { runId, projectId, wait };
  }

  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use(
    '/v1/webhooks/*',
    webhookBodyMemory({ budget: bodyMemory, maxBytes: env.maxWebhookPayloadBytes }),
    bodyLimit({ maxBytes: env.maxWebhookPayloadBytes }),
  );
  return app
    .openapi(asyncWebhook, async (c) => {
      const { runId } = await acceptRun(
        c,
        c.req.valid('param').flowId,
        null,
        c.req.valid('header')['idempotency-key'],
      );
      return c.json({ runId }, 202);
    })
    .openapi(syncWebhook, async (c) => {
      const accepted = await acceptRun(c, c.req.valid('param').flowId, replies.channel);
      const reply =
        (await accepted.wait?.reply) ??
        // The reply can be missed (Redis blip); the run row is the truth.
        (await replyFromRunRow(accepted.projectId, accepted.runId));
      if (reply === null) return c.json({ runId: accepted.runId }, 504);
      const res = syncReplyResponse(reply);
      // A Response built outside the context does not get the headers set on it so far.
      res.headers.set('X-Request-Id', c.get('requestId'));
      return res;
    });

  async function replyFromRunRow(projectId: string, runId: string): Promise<RunReply | null> {
    const run = await findRunOutcome(db, projectId, runId).catch(() => null);
    if (run === null || run.status === 'queued' || run.status === 'running') return null;
    return {
      runId,
      status: run.status,
      responseStatus: run.responseStatus ?? 200,
      body: run.response,
      error: run.error ?? run.status,
      failedStep: run.failedStep,
    };
  }
}
