import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { publicOperation } from '../openapi-auth';

const PROBE_TIMEOUT_MS = 800;

const health = createRoute({
  method: 'get',
  path: '/v1/health',
  ...publicOperation,
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
  ...publicOperation,
  summary:
    'Readiness: PostgreSQL and the queue service (Redis or SQS; none for the in-process queue) answer within 800 ms',
  responses: {
    200: {
      description: 'ready',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('ready'),
            checks: z.record(z.string(), z.enum(['ok', 'down'])),
          }),
        },
      },
    },
    503: { description: 'a dependency is down' },
  },
});

export function healthRoutes({ database, queue, logger }: ApiDeps) {
  // The answer names the dependency that is down, never why: this route needs no key, and a
  // driver's message can name hosts, users and queries. The reason goes to the log.
  const probe = async (dependency: string, check: Promise<void>) =>
    check.then(
      () => 'ok' as const,
      (error: unknown) => {
        logger.warn({ err: error, dependency }, 'readiness probe failed');
        return 'down' as const;
      },
    );
  return new OpenAPIHono()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(ready, async (c) => {
      // The in-process queue (embedded mode) has no service behind it: only what is there is
      // checked and reported.
      const { dependency } = queue;
      const [postgres, queued] = await Promise.all([
        probe('postgres', database.ping(PROBE_TIMEOUT_MS)),
        dependency === null ? null : probe(dependency, queue.ping(PROBE_TIMEOUT_MS)),
      ]);
      const checks: Record<string, 'ok' | 'down'> = { postgres };
      if (dependency !== null && queued !== null) checks[dependency] = queued;
      if (Object.values(checks).some((check) => check !== 'ok')) {
        throw new ApiError(503, 'not_ready', 'a dependency is down', checks, {
          'Retry-After': '1',
        });
      }
      return c.json({ status: 'ready' as const, checks }, 200);
    });
}
