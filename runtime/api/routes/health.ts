import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';

const PROBE_TIMEOUT_MS = 800;

const health = createRoute({
  method: 'get',
  path: '/v1/health',
  summary: 'Liveness: the process is up',
  responses: {
    200: {
      description: 'alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});

const ready = createRoute({
  method: 'get',
  path: '/v1/health/ready',
  summary: 'Readiness: PostgreSQL and Redis answer within 800 ms',
  responses: {
    200: {
      description: 'ready',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('ready'),
            checks: z.record(z.string(), z.string()),
          }),
        },
      },
    },
    503: { description: 'a dependency is down' },
  },
});

export function healthRoutes({ database, queue }: ApiDeps) {
  const probe = async (check: Promise<void>) =>
    check.then(
      () => 'ok',
      (error: Error) => `down: ${error.message}`,
    );
  return new OpenAPIHono()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(ready, async (c) => {
      const [postgres, redis] = await Promise.all([
        probe(database.ping(PROBE_TIMEOUT_MS)),
        probe(queue.ping(PROBE_TIMEOUT_MS)),
      ]);
      const checks = { postgres, redis };
      if (postgres !== 'ok' || redis !== 'ok') {
        throw new ApiError(503, 'not_ready', 'a dependency is down', checks, {
          'Retry-After': '1',
        });
      }
      return c.json({ status: 'ready' as const, checks }, 200);
    });
}
