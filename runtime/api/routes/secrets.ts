import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { KmsUnavailableError } from '../../secrets/kms-unavailable-error';
import { MAX_SECRET_VALUE_BYTES, SECRET_NAME } from '../../secrets/secret-names';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import type { AuthVariables } from '../middleware/bearer-auth';
import { requireJson } from '../middleware/require-json';
import { needsApiKey } from '../openapi-auth';
import { storableText } from '../storable-schemas';
import { unavailable } from '../unavailable';
import { validationHook } from '../validation-hook';

const name = z
  .string()
  .regex(SECRET_NAME, 'must match [A-Za-z_][A-Za-z0-9_]{0,63}')
  .openapi({ example: 'GITHUB_TOKEN' });

const value = storableText(
  z
    .string()
    .min(1)
    .refine((v) => Buffer.byteLength(v) <= MAX_SECRET_VALUE_BYTES, {
      message: `must be at most ${MAX_SECRET_VALUE_BYTES} bytes of UTF-8`,
    }),
).openapi({ description: 'Write-only: no answer ever carries it' });

const listing = z
  .object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('Secret');

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const byName = z.object({ name });

const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/secrets',
    summary: 'Create a secret (encrypted at rest; flows read it as {{secrets.NAME}})',
    request: {
      body: {
        ...json(z.object({ name, value }).openapi('SecretInput'), 'name and value'),
        required: true,
      },
    },
    responses: {
      ...needsApiKey,
      201: json(listing, 'created'),
      409: { description: 'name taken' },
    },
  }),
  replace: createRoute({
    method: 'put',
    path: '/v1/secrets/{name}',
    summary: 'Replace the value (rotation); runs that start afterwards see the new one',
    request: {
      params: byName,
      body: { ...json(z.object({ value }), 'the new value'), required: true },
    },
    responses: {
      ...needsApiKey,
      200: json(listing, 'replaced'),
      404: { description: 'unknown secret' },
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/secrets',
    summary: "The project's secrets: names and timestamps, never values",
    responses: { ...needsApiKey, 200: json(z.object({ secrets: z.array(listing) }), 'secrets') },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/v1/secrets/{name}',
    summary: 'Delete a secret; a step that reads it then fails, naming it',
    request: { params: byName },
    responses: {
      ...needsApiKey,
      204: { description: 'deleted' },
      404: { description: 'unknown secret' },
    },
  }),
};

/** A write seals its value under a data key from KMS: KMS not serving is an outage (503). */
async function sealing<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof KmsUnavailableError) throw unavailable('kms', error);
    throw error;
  }
}

export function secretRoutes({ secrets }: ApiDeps) {
  const present = (s: { name: string; createdAt: Date; updatedAt: Date }) => ({
    name: s.name,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  });
  const listed = async (projectId: string, secretName: string) => {
    const found = (await secrets.list(projectId)).find((s) => s.name === secretName);
    if (found === undefined) throw notFound(`secret ${secretName}`);
    return present(found);
  };

  const app = new OpenAPIHono<{ Variables: AuthVariables }>({ defaultHook: validationHook });
  app.use('/v1/secrets', requireJson());
  app.use('/v1/secrets/*', requireJson());
  return app
    .openapi(routes.create, async (c) => {
      const projectId = c.get('projectId');
      const body = c.req.valid('json');
      if (!(await sealing(() => secrets.create(projectId, body.name, body.value)))) {
        throw new ApiError(409, 'conflict', `secret ${body.name} already exists; PUT replaces it`);
      }
      return c.json(await listed(projectId, body.name), 201);
    })
    .openapi(routes.replace, async (c) => {
      const projectId = c.get('projectId');
      const { name: secretName } = c.req.valid('param');
      const { value: newValue } = c.req.valid('json');
      if (!(await sealing(() => secrets.replace(projectId, secretName, newValue)))) {
        throw notFound(`secret ${secretName}`);
      }
      return c.json(await listed(projectId, secretName), 200);
    })
    .openapi(routes.list, async (c) => {
      const list = await secrets.list(c.get('projectId'));
      return c.json({ secrets: list.map(present) }, 200);
    })
    .openapi(routes.remove, async (c) => {
      const { name: secretName } = c.req.valid('param');
      if (!(await secrets.remove(c.get('projectId'), secretName))) {
        throw notFound(`secret ${secretName}`);
      }
      return c.body(null, 204);
    });
}
