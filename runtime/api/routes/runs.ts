import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { findRunOutcome, listRuns, type RunSummary } from '../../db/run-store';
import { runStatuses } from '../../db/schema';
import type { RouteDeps } from '../deps';
import { notFound } from '../errors';
import type { AuthVariables } from '../middleware/bearer-auth';
import { needsApiKey } from '../openapi-auth';
import { pageQuery, toPage } from '../page';
import { decodeCursor, encodeCursor } from '../run-cursor';
import { logUrlOf } from '../run-log-url';
import { validationHook } from '../validation-hook';

const run = z
  .object({
    id: z.string(),
    flowId: z.string(),
    flowVersionId: z.string(),
    status: z.enum(runStatuses),
    attempt: z.number(),
    interruptions: z.number().openapi({
      description: 'attempts a draining worker handed back to the queue, each retried',
    }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    dispatchMs: z.number().nullable().openapi({
      description: 'milliseconds from enqueue to the flow start, measured by the worker',
    }),
    error: z.string().nullable(),
    failedStep: z.string().nullable(),
    responseStatus: z.number().nullable(),
    replayOf: z.string().nullable().openapi({ description: 'the run this one replays' }),
  })
  .openapi('Run');

const runDetail = run
  .extend({
    response: z.unknown(),
    steps: z.array(z.record(z.string(), z.unknown())),
    logUrl: z.string().nullable().openapi({
      description:
        'pre-signed, short-lived: to S3 for a large log, to this API (/v1/run-logs/{id}) for one kept in the run row',
    }),
  })
  .openapi('RunDetail');

const listQuery = z.object({
  flowId: z.string().max(100).optional(),
  status: z.enum(runStatuses).optional(),
  ...pageQuery,
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/runs',
  summary: 'List runs, newest first; pass nextCursor back as cursor for the next page',
  request: { query: listQuery },
  responses: {
    ...needsApiKey,
    400: {
      description:
        'a bad filter or limit, or a cursor nextCursor did not write: the message names it',
    },
    200: {
      description: 'runs',
      content: {
        'application/json': {
          schema: z.object({ runs: z.array(run), nextCursor: z.string().nullable() }),
        },
      },
    },
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/runs/{id}',
  summary: 'One run with its per-step results and a pre-signed log URL',
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    ...needsApiKey,
    200: { description: 'run', content: { 'application/json': { schema: runDetail } } },
    404: { description: 'unknown run' },
  },
});

const iso = (date: Date | null) => date?.toISOString() ?? null;

const present = (row: RunSummary) => ({
  id: row.id,
  flowId: row.flowId,
  flowVersionId: row.flowVersionId,
  status: row.status,
  attempt: row.attempt,
  interruptions: row.interruptions,
  createdAt: row.createdAt.toISOString(),
  startedAt: iso(row.startedAt),
  finishedAt: iso(row.finishedAt),
  dispatchMs: row.dispatchMs,
  error: row.error,
  failedStep: row.failedStep,
  responseStatus: row.responseStatus,
  replayOf: row.replayOf,
});

export function runRoutes({ database, store, runLogUrls }: RouteDeps) {
  const db = database.db;
  return new OpenAPIHono<{ Variables: AuthVariables }>({ defaultHook: validationHook })
    .openapi(listRoute, async (c) => {
      const query = c.req.valid('query');
      const rows = await listRuns(db, {
        projectId: c.get('projectId'),
        flowId: query.flowId,
        status: query.status,
        limit: query.limit + 1,
        after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      });
      const page = toPage(rows, query.limit, encodeCursor);
      return c.json({ runs: page.rows.map(present), nextCursor: page.nextCursor }, 200);
    })
    .openapi(getRoute, async (c) => {
      const { id } = c.req.valid('param');
      const row = await findRunOutcome(db, c.get('projectId'), id);
      if (row === null) throw notFound(`run ${id}`);
      const logUrl = await logUrlOf(row, runLogUrls, store);
      const steps = Array.isArray(row.steps) ? (row.steps as Record<string, unknown>[]) : [];
      return c.json({ ...present(row), response: row.response, steps, logUrl }, 200);
    });
}
