import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { files } from '../../db/schema';
import { textProblem } from '../../db/storable-text';
import { storageKey } from '../../storage';
import { safeDownloadType } from '../../storage/safe-download-type';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import type { AuthVariables } from '../middleware/bearer-auth';
import { bodyLimit } from '../middleware/body-limit';
import { needsApiKey } from '../openapi-auth';
import { orUnavailable } from '../unavailable';
import { validationHook } from '../validation-hook';

const uploaded = z
  .object({ id: z.string(), size: z.number(), url: z.string() })
  .openapi('FileUploaded');

const uploadRoute = createRoute({
  method: 'post',
  path: '/v1/files',
  summary: 'Upload a file as the raw request body (limit SLUICE_MAX_FILE_MB)',
  request: {
    query: z.object({
      name: z
        .string()
        .min(1)
        .max(255)
        .superRefine((name, ctx) => {
          const problem = textProblem(name);
          if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
    }),
  },
  responses: {
    ...needsApiKey,
    201: { description: 'stored', content: { 'application/json': { schema: uploaded } } },
    413: { description: 'over SLUICE_MAX_FILE_MB' },
  },
});

const downloadRoute = createRoute({
  method: 'get',
  path: '/v1/files/{id}',
  summary: 'Redirect (302) to a short-lived pre-signed download URL',
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    ...needsApiKey,
    302: { description: 'redirect' },
    404: { description: 'unknown file' },
  },
});

/**
 * Files are other people's bytes: always an attachment (named for the upload, or its id), and
 * with the uploader's content type only when a browser cannot run it.
 */
const downloadAs = (file: { id: string; name: string | null; contentType: string | null }) => ({
  downloadName: file.name ?? file.id,
  contentType: safeDownloadType(file.contentType),
});

export function fileRoutes({ database, store, env }: ApiDeps) {
  const db = database.db;
  const app = new OpenAPIHono<{ Variables: AuthVariables }>({ defaultHook: validationHook });
  app.post('/v1/files', bodyLimit({ maxBytes: env.maxFileBytes }));
  return app
    .openapi(uploadRoute, async (c) => {
      const projectId = c.get('projectId');
      const { name } = c.req.valid('query');
      const body = new Uint8Array(await c.req.arrayBuffer());
      const id = randomUUID();
      const key = storageKey(projectId, 'FILE', id);
      const contentType = c.req.header('content-type') ?? 'application/octet-stream';
      await orUnavailable('storage', () => store.put(key, body, { contentType }));
      try {
        await db.insert(files).values({
          id,
          projectId,
          kind: 'FILE',
          key,
          size: body.byteLength,
          contentType,
          name: name ?? null,
        });
      } catch (error) {
        // Retention works from rows: an object whose row was never written would stay for good.
        await store.deleteMany([key]).catch(() => undefined);
        throw error;
      }
      const url = await store.signedGetUrl(
        key,
        downloadAs({ id, name: name ?? null, contentType }),
      );
      return c.json({ id, size: body.byteLength, url }, 201);
    })
    .openapi(downloadRoute, async (c) => {
      const { id } = c.req.valid('param');
      const [file] = await db
        .select({ key: files.key, name: files.name, contentType: files.contentType })
        .from(files)
        .where(and(eq(files.id, id), eq(files.projectId, c.get('projectId'))));
      if (file === undefined) throw notFound(`file ${id}`);
      const url = await store.signedGetUrl(file.key, downloadAs({ id, ...file }));
      return c.redirect(url, 302);
    });
}
