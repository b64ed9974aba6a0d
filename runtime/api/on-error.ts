import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { failedDependency } from './dependency-failure';
import { ApiError } from './errors';
import { requestBodyAbandoned } from './middleware/behind-node-server';
import { unavailable } from './unavailable';

/**
 * Turns every error into `{ error: { code, message, details? } }`. A 5xx carries only a fixed
 * text and the request id: what went wrong (a driver's message holds SQL and other requests'
 * data) goes to the log, under the same id, and never to the caller. An error that reports
 * PostgreSQL or Redis down or hanging, on any route, answers 503 with Retry-After; any other
 * error is a bug and answers 500.
 */
/** The codes our own errors use for the statuses Hono throws. */
const HTTP_EXCEPTION_CODES: Record<number, string> = {
  401: 'unauthorized',
  // hono/csrf: a form post whose Origin is not this site (the console's sign-in and sign-out).
  403: 'csrf_rejected',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export const errorHandler =
  (logger: Logger) =>
  (thrown: Error, c: Context): Response => {
    const requestId = c.get('requestId') as string | undefined;
    // Reading a body the caller stopped sending fails with ECONNRESET, which would read as an
    // outage (503, logged as a dependency down). Nobody is left to answer; the log says what.
    if (!(thrown instanceof ApiError && thrown.status < 500) && requestBodyAbandoned(c)) {
      logger.info({ requestId, path: c.req.path }, 'the caller closed before sending its body');
      return c.json(
        {
          error: {
            code: 'request_aborted',
            message: 'the connection closed before the request body was complete',
          },
        },
        400,
      );
    }
    const dependency = thrown instanceof ApiError ? null : failedDependency(thrown);
    const error = dependency === null ? thrown : unavailable(dependency, thrown);
    if (error instanceof ApiError) {
      const { code, message, details, status } = error;
      const body = { error: { code, message, ...(details === undefined ? {} : { details }) } };
      if (status < 500) {
        // A 4xx with a cause is input that got past the checks: worth a look, not a page.
        if (error.cause !== undefined) logger.warn({ err: error.cause, requestId, code }, message);
        return c.json(body, status, error.headers);
      }
      logger.warn({ err: error.cause ?? error, requestId, path: c.req.path, code }, message);
      return c.json({ error: { ...body.error, requestId } }, status, error.headers);
    }
    if (error instanceof HTTPException) {
      // Hono throws these for input it could not read (a malformed JSON body, a body that is
      // not JSON) and for refused credentials (basic auth): the caller's fault.
      const status = (error.status >= 500 ? 400 : error.status) as 400;
      const code = error.message.startsWith('Malformed JSON')
        ? 'invalid_json'
        : (HTTP_EXCEPTION_CODES[status] ?? 'bad_request');
      const message = error.message || code.replace(/_/g, ' ');
      // Keep the challenge a 401 carries (WWW-Authenticate); the body is ours.
      const challenge = error.res?.headers.get('www-authenticate');
      const headers = challenge ? { 'WWW-Authenticate': challenge } : undefined;
      return c.json({ error: { code, message } }, status, headers);
    }
    logger.error({ err: error, requestId, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error', requestId } }, 500);
  };
