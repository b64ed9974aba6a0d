import type { Context, MiddlewareHandler } from 'hono';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../json-depth';
import { ApiError } from '../errors';
import { isBehindNodeServer } from './behind-node-server';

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

export const isJsonContentType = (header: string | undefined) =>
  jsonMediaType.test((header ?? '').split(';')[0]?.trim() ?? '');

/**
 * Whether the request carries a body. Behind Node's server the request always has a body
 * stream, so only the headers tell: a body has a non-zero Content-Length or is chunked
 * (`curl -X DELETE` sends neither).
 */
function hasBody(c: Context): boolean {
  if (!isBehindNodeServer(c))
    return c.req.header('content-length') !== '0' && c.req.raw.body !== null;
  const length = c.req.header('content-length');
  return (
    (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined
  );
}

/**
 * 415 for a body that is not declared as JSON (an empty body, chunked or not, is no body), and 400 for JSON
 * nested deeper than MAX_JSON_DEPTH, judged on the text before anything parses or walks it.
 *
 * `bodyOptional`: for a route whose body may be left out. An empty body then reaches the route
 * as none at all (its Content-Type and length headers dropped), so that the route's validator
 * takes it for a missing body rather than for malformed JSON or another media type.
 */
export const requireJson = ({ bodyOptional = false } = {}): MiddlewareHandler =>
  async function requireJson(c, next) {
    // Read once: Hono keeps the text, and its JSON validator parses that same copy. A chunked
    // body declares no length, so only its text tells an empty one, which is no body at all.
    const text = hasBody(c) ? await c.req.text() : '';
    if (text.length === 0) {
      if (bodyOptional) c.req.raw = withoutBody(c.req.raw);
      return next();
    }
    if (!isJsonContentType(c.req.header('content-type'))) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        `content-type must be application/json (got "${c.req.header('content-type') ?? 'none'}")`,
      );
    }
    if (nestsDeeperThan(text)) {
      throw new ApiError(
        400,
        'invalid_json',
        `body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    await next();
  };

/** The same request with no body and none of the headers that announce one. */
function withoutBody(request: Request): Request {
  const headers = new Headers(request.headers);
  for (const name of ['content-type', 'content-length', 'transfer-encoding']) headers.delete(name);
  return new Request(request.url, { method: request.method, headers });
}
