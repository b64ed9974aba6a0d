import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { TrieRouter } from 'hono/router/trie-router';
import type { RouterRoute } from 'hono/types';
import { ApiError } from '../errors';

/** The order methods are listed in an Allow header. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** path -> the methods its routes answer, HEAD wherever GET is, and OPTIONS. */
function allowIndex(routes: readonly RouterRoute[]): (path: string) => string[] {
  const router = new TrieRouter<string>();
  // `ALL` entries are middleware (auth, limits), which answer no method of their own.
  for (const { method, path } of routes) if (method !== 'ALL') router.add('ALL', path, method);
  return (path) => {
    const methods = new Set(router.match('GET', path)[0].map(([method]) => method));
    if (methods.size === 0) return [];
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return METHOD_ORDER.filter((method) => methods.has(method));
  };
}

/**
 * Answers methods the path has no route for, before any key is asked for: OPTIONS with 204 and
 * Allow, any other method with 405 and Allow. A path no route knows falls through to the 404.
 * `routes` is read at the first request, once every route is registered.
 */
export const allowedMethods = ({ routes }: { routes: () => readonly RouterRoute[] }) => {
  let allowed: ((path: string) => string[]) | undefined;
  return async function allowedMethods(c, next) {
    // The router has matched the request already: a route of the method's own (not a
    // middleware's `ALL`) means it is allowed, without matching the path a second time.
    if (matchedRoutes(c).some(({ method }) => method !== 'ALL')) return next();
    allowed ??= allowIndex(routes());
    // Routing ignores a trailing slash (strict: false); so does this.
    const path = c.req.path.length > 1 ? c.req.path.replace(/\/+$/, '') : c.req.path;
    const methods = allowed(path);
    if (methods.length === 0) return next();
    const allow = methods.join(', ');
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allow });
    if (methods.includes(c.req.method)) return next();
    throw new ApiError(
      405,
      'method_not_allowed',
      `${c.req.method} is not allowed here; allowed: ${allow}`,
      undefined,
      { Allow: allow },
    );
  } satisfies MiddlewareHandler;
};
