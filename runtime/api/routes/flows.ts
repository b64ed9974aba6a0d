import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  addFlowVersion,
  createFlow,
  deleteFlow,
  type FlowSummary,
  findFlow,
  listFlows,
  listFlowVersions,
  setFlowStatus,
} from '../../db/flow-store';
import type { FlowStatus } from '../../db/schema';
import { findUnstorable } from '../../db/storable-text';
import { type FlowDefinition, parseFlowDefinition } from '../../engine';
import { secretReferences } from '../../engine/secret-references';
import { shortestIntervalMs } from '../../engine/trigger-schema';
import type { RouteDeps } from '../deps';
import { notFound } from '../errors';
import {
  decodeFlowsCursor,
  decodeVersionsCursor,
  encodeFlowsCursor,
  encodeVersionsCursor,
} from '../flow-cursors';
import type { AuthVariables } from '../middleware/bearer-auth';
import { requireJson } from '../middleware/require-json';
import { needsApiKey } from '../openapi-auth';
import { badPageQuery, pageQuery, toPage } from '../page';
import { storableText } from '../storable-schemas';
import { invalidRequest, validationHook } from '../validation-hook';

const flowBody = z
  .object({
    name: z.string().min(1).max(200),
    // The engine's schema checks the rest (cron, timezone) and names the field.
    trigger: z.looseObject({ type: z.enum(['webhook', 'schedule']) }).openapi({
      description:
        '{type: "webhook"}, or {type: "schedule", cron (5 fields, or 6 with seconds), timezone (IANA, default UTC)}',
    }),
    steps: z.array(z.record(z.string(), z.unknown())),
    webhookSecret: storableText(z.string().min(16).max(256)).nullable().optional().openapi({
      description:
        'When set, webhooks must carry x-sluice-timestamp and x-sluice-signature. On PUT: a string sets or rotates it (the replaced secret keeps signing for SLUICE_WEBHOOK_SECRET_OVERLAP_S; only the one just replaced), null clears it (no signature needed from then on), absent leaves it as it is',
    }),
    runRetentionDays: z.number().int().min(1).max(36_500).nullable().optional().openapi({
      description:
        "Days this flow's ended runs are kept before they are pruned; null (or absent on create) uses SLUICE_RUN_RETENTION_DAYS; absent on PUT leaves it as it is",
    }),
  })
  .openapi('FlowInput');

const flowId = z.object({ id: z.string().min(1).max(100) });

const flowCreated = z
  .object({
    id: z.string(),
    versionId: z.string(),
    version: z.number(),
    webhookUrl: z.string(),
    syncWebhookUrl: z.string(),
  })
  .openapi('FlowCreated');

const flowSummary = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['enabled', 'disabled']),
    currentVersionId: z.string().nullable(),
    version: z.number().nullable(),
    hasWebhookSecret: z.boolean(),
    runRetentionDays: z.number().nullable().openapi({
      description: 'Null: SLUICE_RUN_RETENTION_DAYS applies',
    }),
    previousWebhookSecretExpiresAt: z.string().nullable().openapi({
      description: 'Until when the secret replaced by the last rotation still signs webhooks',
    }),
    webhookUrl: z.string(),
    syncWebhookUrl: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Flow');

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const jsonBody = { body: { ...json(flowBody, 'flow definition'), required: true } };
/** What a create or update answers to a definition it does not take. */
const definitionRefusals = {
  400: { description: 'invalid definition: the message names the field' },
  413: { description: 'body over 5 MiB' },
  415: { description: 'a body that is not application/json' },
};
const unknownFlow = { 404: { description: 'unknown flow' } };

const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/flows',
    summary: 'Create a flow (version 1)',
    request: jsonBody,
    responses: {
      ...needsApiKey,
      ...definitionRefusals,
      201: json(flowCreated, 'created'),
    },
  }),
  update: createRoute({
    method: 'put',
    path: '/v1/flows/{id}',
    summary: 'Create a new immutable version and make it current',
    description:
      'webhookSecret: a string sets or rotates it, null clears it, absent leaves it unchanged. After a rotation the replaced secret keeps signing webhooks for SLUICE_WEBHOOK_SECRET_OVERLAP_S (see previousWebhookSecretExpiresAt); rotating again ends the older one at once, and clearing ends both.',
    request: { params: flowId, ...jsonBody },
    responses: {
      ...needsApiKey,
      ...definitionRefusals,
      ...unknownFlow,
      200: json(flowCreated, 'new version'),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/flows',
    summary:
      "List the project's flows, newest first; pass nextCursor back as cursor for the next page",
    request: { query: z.object(pageQuery) },
    responses: {
      ...needsApiKey,
      ...badPageQuery,
      200: json(
        z.object({ flows: z.array(flowSummary), nextCursor: z.string().nullable() }),
        'flows',
      ),
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/flows/{id}',
    summary: 'One flow with its current definition',
    request: { params: flowId },
    responses: {
      ...needsApiKey,
      ...unknownFlow,
      200: json(flowSummary.extend({ definition: z.unknown() }), 'flow'),
    },
  }),
  versions: createRoute({
    method: 'get',
    path: '/v1/flows/{id}/versions',
    summary: "The flow's versions, newest first; pass nextCursor back as cursor for the next page",
    request: { params: flowId, query: z.object(pageQuery) },
    responses: {
      ...needsApiKey,
      ...badPageQuery,
      ...unknownFlow,
      200: json(
        z.object({
          versions: z.array(
            z.object({ id: z.string(), version: z.number(), createdAt: z.string() }),
          ),
          nextCursor: z.string().nullable(),
        }),
        'versions',
      ),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/v1/flows/{id}',
    summary: 'Delete a flow; its runs stay readable',
    request: { params: flowId },
    responses: {
      ...needsApiKey,
      ...unknownFlow,
      204: { description: 'deleted' },
    },
  }),
  disable: createRoute({
    method: 'post',
    path: '/v1/flows/{id}/disable',
    summary: 'Stop accepting webhooks (409)',
    request: { params: flowId },
    responses: { ...needsApiKey, ...unknownFlow, 200: json(flowSummary, 'flow') },
  }),
  enable: createRoute({
    method: 'post',
    path: '/v1/flows/{id}/enable',
    summary: 'Accept webhooks again',
    request: { params: flowId },
    responses: { ...needsApiKey, ...unknownFlow, 200: json(flowSummary, 'flow') },
  }),
};

export function flowRoutes({ database, env, webhookTargets, secrets }: RouteDeps) {
  const db = database.db;
  const urls = (id: string) => ({
    webhookUrl: `${env.publicUrl}/v1/webhooks/${id}`,
    syncWebhookUrl: `${env.publicUrl}/v1/webhooks/${id}/sync`,
  });
  const present = <T extends FlowSummary>(flow: T) => ({
    ...flow,
    ...urls(flow.id),
    previousWebhookSecretExpiresAt: flow.previousWebhookSecretExpiresAt?.toISOString() ?? null,
    createdAt: flow.createdAt.toISOString(),
    updatedAt: flow.updatedAt.toISOString(),
  });
  const validDefinition = (body: z.infer<typeof flowBody>) => {
    const { webhookSecret: _secret, runRetentionDays: _days, ...definition } = body;
    const parsed = parseFlowDefinition(definition);
    if (!parsed.ok) invalidRequest('flow definition', parsed.issues);
    const { trigger } = parsed.value;
    const shortestMs = trigger.type === 'schedule' ? shortestIntervalMs(trigger) : Infinity;
    if (shortestMs < env.SLUICE_SCHEDULE_MIN_INTERVAL_S * 1000) {
      invalidRequest('flow definition', [
        {
          path: 'trigger.cron',
          message: `cron fires every ${shortestMs / 1000} s, more often than SLUICE_SCHEDULE_MIN_INTERVAL_S allows (${env.SLUICE_SCHEDULE_MIN_INTERVAL_S} s)`,
        },
      ]);
    }
    const unstorable = findUnstorable(body);
    if (unstorable !== null) {
      invalidRequest('flow definition', [{ path: unstorable.path, message: unstorable.problem }]);
    }
    return parsed.value;
  };
  /** A flow may only name secrets the project has: 400 naming the first one missing. */
  const secretsExist = async (projectId: string, definition: FlowDefinition) => {
    const refs = secretReferences(definition);
    const existing = await secrets.existing(projectId, [...new Set(refs.map((r) => r.name))]);
    const missing = refs.filter((ref) => !existing.has(ref.name));
    if (missing.length > 0) {
      invalidRequest(
        'flow definition',
        missing.map((ref) => ({ path: ref.path, message: `secret "${ref.name}" does not exist` })),
      );
    }
  };
  const mustFind = async (projectId: string, id: string) => {
    const flow = await findFlow(db, projectId, id);
    if (flow === null) throw notFound(`flow ${id}`);
    return flow;
  };

  const changeStatus = async (projectId: string, id: string, status: FlowStatus) => {
    if (!(await setFlowStatus(db, projectId, id, status))) throw notFound(`flow ${id}`);
    webhookTargets.forget(id);
    const { definition: _definition, ...flow } = await mustFind(projectId, id);
    return present(flow);
  };

  const app = new OpenAPIHono<{ Variables: AuthVariables }>({ defaultHook: validationHook });
  app.use('/v1/flows', requireJson());
  app.use('/v1/flows/*', requireJson());
  return app
    .openapi(routes.create, async (c) => {
      const body = c.req.valid('json');
      const definition = validDefinition(body);
      await secretsExist(c.get('projectId'), definition);
      const created = await createFlow(db, {
        projectId: c.get('projectId'),
        name: definition.name,
        definition,
        webhookSecret: body.webhookSecret ?? null,
        runRetentionDays: body.runRetentionDays,
      });
      return c.json({ ...created, version: 1, ...urls(created.id) }, 201);
    })
    .openapi(routes.update, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const definition = validDefinition(body);
      await secretsExist(c.get('projectId'), definition);
      const added = await addFlowVersion(db, {
        projectId: c.get('projectId'),
        flowId: id,
        name: definition.name,
        definition,
        secret: {
          webhookSecret: body.webhookSecret,
          overlapS: env.SLUICE_WEBHOOK_SECRET_OVERLAP_S,
        },
        runRetentionDays: body.runRetentionDays,
      });
      if (added === null) throw notFound(`flow ${id}`);
      // This instance sees the change at once; others within their cache's lifetime.
      webhookTargets.forget(id);
      return c.json({ id, ...added, ...urls(id) }, 200);
    })
    .openapi(routes.list, async (c) => {
      const projectId = c.get('projectId');
      const { limit, cursor } = c.req.valid('query');
      const rows = await listFlows(db, {
        projectId,
        limit: limit + 1,
        after: cursor === undefined ? undefined : decodeFlowsCursor(projectId, cursor),
      });
      const page = toPage(rows, limit, (last) => encodeFlowsCursor(projectId, last));
      return c.json({ flows: page.rows.map(present), nextCursor: page.nextCursor }, 200);
    })
    .openapi(routes.get, async (c) => {
      const flow = await mustFind(c.get('projectId'), c.req.valid('param').id);
      return c.json(present(flow), 200);
    })
    .openapi(routes.versions, async (c) => {
      const { id } = c.req.valid('param');
      const { limit, cursor } = c.req.valid('query');
      const versions = await listFlowVersions(db, {
        projectId: c.get('projectId'),
        flowId: id,
        limit: limit + 1,
        before: cursor === undefined ? undefined : decodeVersionsCursor(id, cursor),
      });
      if (versions === null) throw notFound(`flow ${id}`);
      const page = toPage(versions, limit, (last) => encodeVersionsCursor(id, last));
      const presented = page.rows.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() }));
      return c.json({ versions: presented, nextCursor: page.nextCursor }, 200);
    })
    .openapi(routes.remove, async (c) => {
      const { id } = c.req.valid('param');
      if (!(await deleteFlow(db, c.get('projectId'), id))) throw notFound(`flow ${id}`);
      webhookTargets.forget(id);
      return c.body(null, 204);
    })
    .openapi(routes.disable, async (c) =>
      c.json(await changeStatus(c.get('projectId'), c.req.valid('param').id, 'disabled'), 200),
    )
    .openapi(routes.enable, async (c) =>
      c.json(await changeStatus(c.get('projectId'), c.req.valid('param').id, 'enabled'), 200),
    );
}
