import type { Context, ErrorHandler } from 'hono';
import { raw } from 'hono/html';
import { loadConsoleAssets } from '../console/assets';
import { ErrorPage } from '../console/pages/error-page';
import type { ConsoleSession } from '../db/console-session-store';

const DOCTYPE = raw('<!doctype html>');

/** Console pages and forms are opened by a browser, which should not be shown raw JSON. */
const isConsoleRequest = (c: Context) =>
  c.req.path === '/console' || c.req.path.startsWith('/console/');

interface ErrorBody {
  error?: { message?: unknown; requestId?: unknown };
}

/**
 * Wraps the API's error handler: under /console the same error (same status, same words,
 * same Retry-After) is answered as an HTML page in the console's layout; /v1 keeps its JSON.
 * The words come from the JSON body the handler built, so a 5xx still shows only its fixed
 * text and request id, never what went wrong inside.
 */
export function consoleErrorPages(handler: ErrorHandler): ErrorHandler {
  const assets = loadConsoleAssets();
  return async (thrown, c) => {
    const json = await handler(thrown, c);
    if (!isConsoleRequest(c)) return json;
    const { error } = (await json.json()) as ErrorBody;
    const message = typeof error?.message === 'string' ? error.message : 'something went wrong';
    const requestId = typeof error?.requestId === 'string' ? error.requestId : undefined;
    const session = c.get('session') as ConsoleSession | undefined;
    const headers = new Headers(json.headers);
    headers.delete('content-type');
    headers.delete('content-length');
    headers.set('Cache-Control', 'no-store');
    return c.html(
      <>
        {DOCTYPE}
        <ErrorPage
          assets={assets}
          status={json.status}
          message={message}
          requestId={requestId}
          csrfToken={session?.csrfToken}
        />
      </>,
      json.status as 400,
      Object.fromEntries(headers),
    );
  };
}
