import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors';

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

export const isJsonContentType = (header: string | undefined) =>
  jsonMediaType.test((header ?? '').split(';')[0]?.trim() ?? '');

/** 415 for a body that is not declared as JSON; an empty body is allowed. */
export const requireJson = (): MiddlewareHandler =>
  async function requireJson(c, next) {
    const hasBody = c.req.header('content-length') !== '0' && c.req.raw.body !== null;
    if (hasBody && !isJsonContentType(c.req.header('content-type'))) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        `content-type must be application/json (got "${c.req.header('content-type') ?? 'none'}")`,
      );
    }
    await next();
  };
