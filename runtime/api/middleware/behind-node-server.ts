import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/**
 * Whether the request came through Node's HTTP server, whose parser vouches for the framing
 * headers (Content-Length, Transfer-Encoding). Through `app.request` or another runtime they
 * prove nothing.
 */
export const isBehindNodeServer = (c: Context) =>
  (c.env as Partial<HttpBindings> | undefined)?.incoming !== undefined;

/**
 * Whether the caller closed the connection before its request body was complete: Node then
 * destroys the body stream with `aborted` (ECONNRESET), which is the caller's doing, not a
 * dependency's.
 */
export const requestBodyAbandoned = (c: Context) =>
  (c.env as Partial<HttpBindings> | undefined)?.incoming?.readableAborted === true;
