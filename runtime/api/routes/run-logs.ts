import { Hono } from 'hono';
import { z } from 'zod';
import { readInlineRunLog } from '../../db/run-store';
import type { RouteDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { RUN_LOG_PATH } from '../run-log-url';

const signedQuery = z.object({
  expires: z.string().regex(/^\d{1,12}$/),
  sig: z.string().regex(/^[0-9a-f]{64}$/),
});

// Served from the API's own origin: the document must never run as a page there.
const LOG_HEADERS = {
  'Content-Type': 'application/json',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, no-store',
};

/**
 * Serves the run logs kept in their run row, through the signed URL GET /v1/runs/:id hands
 * out as `logUrl` (no API key, as with a pre-signed S3 URL). Larger logs are in S3.
 */
export function runLogRoutes({ database, runLogUrls }: Pick<RouteDeps, 'database' | 'runLogUrls'>) {
  return new Hono().get(`${RUN_LOG_PATH}:runId`, async function serveInlineRunLog(c) {
    const runId = c.req.param('runId');
    const query = signedQuery.safeParse(c.req.query());
    if (!query.success) {
      throw new ApiError(403, 'invalid_signature', 'the URL has no valid signature');
    }
    const check = await runLogUrls.verify(runId, Number(query.data.expires), query.data.sig);
    if (!check.ok) {
      throw check.code === 'url_expired'
        ? new ApiError(403, 'url_expired', 'the signed URL has expired')
        : new ApiError(403, 'invalid_signature', 'the URL signature does not match');
    }
    const body = await readInlineRunLog(database.db, runId);
    if (body === null) throw notFound('run log');
    return c.body(body, 200, LOG_HEADERS);
  });
}
