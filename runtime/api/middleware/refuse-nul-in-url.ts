import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors';

/**
 * 400 for a URL holding `%00`. Path parameters and query values reach SQL as text, which
 * PostgreSQL refuses to hold U+0000 in; refusing it here keeps that a 400 on every route.
 * (Percent-decoding cannot produce an unpaired surrogate: decodeURIComponent refuses one.)
 */
export const refuseNulInUrl = (): MiddlewareHandler =>
  async function refuseNulInUrl(c, next) {
    if (c.req.url.includes('%00')) {
      throw new ApiError(
        400,
        'invalid_request',
        'the URL contains %00 (NUL), which is not allowed',
      );
    }
    await next();
  };
