import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { failedDependency } from './dependency-failure';
import { ApiError } from './errors';
import { unavailable } from './unavailable';

/**
 * Turns every error into `{ error: { code, message, details? } }`. A 5xx carries only a fixed
 * text and the request id: what went wrong (a driver's message holds SQL and other requests'
 * data) goes to the log, under the same id, and never to the caller. An error that reports
 * PostgreSQL or Redis down or hanging, on any route, answers 503 with Retry-After; any other
 * error is a bug and answers 500.
 */
export const errorHandler =
  (logger: Logger) =>
  (thrown: Error, c: Context): Response => {
    const requestId = c.get('requestId') as string | undefined;
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
      // Hono throws these for input it could not read (a malformed JSON body): the caller's fault.
      const malformed = error.message.startsWith('Malformed JSON');
      const code = malformed ? 'invalid_json' : 'bad_request';
      const status = error.status >= 500 ? 400 : error.status;
      return c.json({ error: { code, message: error.message } }, status as 400);
    }
    logger.error({ err: error, requestId, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error', requestId } }, 500);
  };
