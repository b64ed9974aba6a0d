import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { ApiError } from './errors';

/** Turns every error into `{ error: { code, message, details? } }`; unknown ones are bugs (500). */
export const errorHandler =
  (logger: Logger) =>
  (error: Error, c: Context): Response => {
    if (error instanceof ApiError) {
      const { code, message, details } = error;
      const body = { error: { code, message, ...(details === undefined ? {} : { details }) } };
      return c.json(body, error.status, error.headers);
    }
    if (error instanceof HTTPException) {
      const malformed = error.message.startsWith('Malformed JSON');
      const code = malformed ? 'invalid_json' : 'bad_request';
      const status = error.status === 500 ? 400 : error.status;
      return c.json({ error: { code, message: error.message } }, status as 400);
    }
    logger.error({ err: error, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
