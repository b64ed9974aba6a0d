import type { MiddlewareHandler } from 'hono';
import type { IdleWatch } from '../../reliability/idle-watch';

/**
 * Every request but the health checks is work for the idle watch: it wakes the parts that
 * rest while the APP is idle, and waits for those the request may need first (the LISTEN for
 * sync replies). Health checks do not count, or the load balancer's would keep them awake.
 */
export const countsAsWork = ({ idle }: { idle: IdleWatch }): MiddlewareHandler =>
  async function countsAsWork(c, next) {
    if (c.req.path === '/v1/health' || c.req.path.startsWith('/v1/health/')) return next();
    const work = await idle.begin();
    try {
      await next();
    } finally {
      work.end();
    }
  };
