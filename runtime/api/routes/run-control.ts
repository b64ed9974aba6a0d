import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { cancelRun } from '../../db/run-control-store';
import { type ReplayRefusal, replayRun, replayRuns } from '../../db/run-replay-store';
import { runStatuses } from '../../db/schema';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import type { AuthVariables } from '../middleware/bearer-auth';
import { requireJson } from '../middleware/require-json';
import { needsApiKey } from '../openapi-auth';
import { storableDateTime, storableText } from '../storable-schemas';
import { orUnavailable } from '../unavailable';
import { validationHook } from '../validation-hook';

/** The most runs one bulk replay creates; a larger backlog is replayed in several calls. */
const MAX_BULK_REPLAY = 1000;

const runId = z.object({ id: z.string().min(1).max(100) });
const version = z.enum(['current', 'same']).default('current').openapi({
  description: "the flow's current version (default), or the one the original run used",
});
const errorResponse = (description: string) => ({ description });
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/runs/{id}/cancel',
  summary:
    'Cancel a run: a queued run never starts; a running one is stopped by its worker within about 1 s',
  request: { params: runId },
  responses: {
    ...needsApiKey,
    202: json(z.object({ runId: z.string(), status: z.literal('canceled') }), 'canceled'),
    404: errorResponse('unknown run'),
    409: errorResponse('the run had already ended; the error names its status'),
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/v1/runs/{id}/replay',
  summary: 'Start a new run with the same trigger as this one',
  request: {
    params: runId,
    body: {
      required: false,
      content: { 'application/json': { schema: z.object({ version }).strict() } },
    },
  },
  responses: {
    ...needsApiKey,
    202: json(z.object({ runId: z.string(), replayOf: z.string() }), 'the new run, queued'),
    404: errorResponse('unknown run, or its flow was deleted'),
    409: errorResponse('the flow is disabled'),
  },
});

const bulkReplayBody = z
  .object({
    flowId: storableText(z.string().min(1).max(100)).optional(),
    status: z.enum(runStatuses).optional(),
    createdFrom: storableDateTime().optional(),
    createdTo: storableDateTime().optional(),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_BULK_REPLAY)
      .default(100)
      .openapi({
        description: `the cap: at most this many runs are replayed, oldest first (≤ ${MAX_BULK_REPLAY})`,
      }),
    version,
  })
  .strict()
  .refine(
    (body) =>
      body.createdFrom === undefined ||
      body.createdTo === undefined ||
      Date.parse(body.createdFrom) < Date.parse(body.createdTo),
    { path: ['createdTo'], message: 'must be after createdFrom' },
  );

const bulkReplayRoute = createRoute({
  method: 'post',
  path: '/v1/runs/replay',
  summary:
    'Replay the runs that match a filter (created in [createdFrom, createdTo)); runs of disabled or deleted flows are skipped',
  request: {
    body: { required: true, content: { 'application/json': { schema: bulkReplayBody } } },
  },
  responses: {
    ...needsApiKey,
    202: json(z.object({ count: z.number(), runIds: z.array(z.string()) }), 'the new runs'),
  },
});

const refusal: Record<ReplayRefusal, (id: string) => ApiError> = {
  run_not_found: (id) => notFound(`run ${id}`),
  flow_not_found: (id) => new ApiError(404, 'flow_not_found', `the flow of run ${id} was deleted`),
  flow_disabled: (id) => new ApiError(409, 'flow_disabled', `the flow of run ${id} is disabled`),
};

export function runControlRoutes({ database, queue, logger }: ApiDeps) {
  const db = database.db;

  /**
   * The new rows are committed (the outbox), so a failed enqueue only delays them: the
   * reconciler enqueues queued runs that have no job. The caller is told they were accepted.
   */
  async function enqueueAll(runIds: readonly string[]) {
    const results = await Promise.allSettled(
      runIds.map((id) => queue.enqueue({ runId: id, replyTo: null })),
    );
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) logger.warn({ failed }, 'replayed runs left to the reconciler to enqueue');
  }

  const app = new OpenAPIHono<{ Variables: AuthVariables }>({ defaultHook: validationHook });
  // Declared JSON and not too deep, as every JSON route's body, before the validator parses it.
  app.use('/v1/runs/replay', requireJson());
  app.use('/v1/runs/:id/replay', requireJson({ bodyOptional: true }));
  // No body is read, but one that is sent is held to the same rules as on every other route.
  app.use('/v1/runs/:id/cancel', requireJson());
  return app
    .openapi(cancelRoute, async (c) => {
      const { id } = c.req.valid('param');
      const result = await orUnavailable('database', () => cancelRun(db, c.get('projectId'), id));
      if (result === null) throw notFound(`run ${id}`);
      if (!result.canceled) {
        throw new ApiError(409, 'run_ended', `run ${id} already ended: ${result.status}`, {
          status: result.status,
        });
      }
      return c.json({ runId: id, status: 'canceled' as const }, 202);
    })
    .openapi(replayRoute, async (c) => {
      const { id } = c.req.valid('param');
      const { version: chosen } = c.req.valid('json') ?? {};
      const result = await orUnavailable('database', () =>
        replayRun(db, c.get('projectId'), id, chosen ?? 'current'),
      );
      if ('refused' in result) throw refusal[result.refused](id);
      await enqueueAll([result.runId]);
      return c.json({ runId: result.runId, replayOf: id }, 202);
    })
    .openapi(bulkReplayRoute, async (c) => {
      const body = c.req.valid('json');
      const runIds = await orUnavailable('database', () =>
        replayRuns(
          db,
          {
            projectId: c.get('projectId'),
            flowId: body.flowId,
            status: body.status,
            createdFrom: body.createdFrom === undefined ? undefined : new Date(body.createdFrom),
            createdTo: body.createdTo === undefined ? undefined : new Date(body.createdTo),
            limit: body.limit,
          },
          body.version,
        ),
      );
      await enqueueAll(runIds);
      return c.json({ count: runIds.length, runIds }, 202);
    });
}
