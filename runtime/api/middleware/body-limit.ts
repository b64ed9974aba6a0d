import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors';
import { isBehindNodeServer } from './behind-node-server';

/**
 * 413 as soon as the declared or streamed size passes `maxBytes`; the rest is not read.
 *
 * Behind Node's HTTP server, a request without Transfer-Encoding is judged from its
 * Content-Length alone (none means no body): Node's parser delivers exactly that many bytes. Only a chunked body is streamed through
 * Hono's counter, because touching the request body there makes @hono/node-server build a
 * full web Request, which costs more than the rest of a webhook's work in the app.
 */
export const bodyLimit = ({ maxBytes }: { maxBytes: number }): MiddlewareHandler => {
  const tooLarge = () => {
    throw new ApiError(413, 'payload_too_large', `body is larger than ${maxBytes} bytes`);
  };
  const streamed = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (!isBehindNodeServer(c) || c.req.header('transfer-encoding') !== undefined)
      return streamed(c, next);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > maxBytes) tooLarge();
    return next();
  };
};
