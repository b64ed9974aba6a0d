import { Hono } from 'hono';
import { readInlineRunLog } from '../../db/run-store';
import type { RouteDeps } from '../deps';
import { notFound } from '../errors';
import { RUN_LOG_PATH } from '../run-log-url';
import { refuseUnlessValid, signedQueryOf, signedUrlQuery } from '../signed-url-checks';

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
    const { expires, sig } = signedQueryOf(c, signedUrlQuery);
    refuseUnlessValid(await runLogUrls.verify(runId, Number(expires), sig));
    const body = await readInlineRunLog(database.db, runId);
    if (body === null) throw notFound('run log');
    return c.body(body, 200, LOG_HEADERS);
  });
}
