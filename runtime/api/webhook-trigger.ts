import type { Context } from 'hono';
import { containsNul } from '../db/nul';
import type { TriggerInput } from '../engine';
import { ApiError } from './errors';
import { isJsonContentType } from './middleware/require-json';
import { SIGNATURE_HEADER } from './webhook-signature';

/** Credentials the caller sent to us are not the flow's business. */
const HIDDEN_HEADERS = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  SIGNATURE_HEADER,
]);

/** Reads the raw body once: the signature check needs the exact bytes, the flow the JSON. */
export async function readWebhookRequest(
  c: Context,
): Promise<{ raw: string; trigger: TriggerInput }> {
  const raw = await c.req.text();
  let body: unknown = null;
  if (raw.length > 0) {
    if (!isJsonContentType(c.req.header('content-type'))) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        `content-type must be application/json (got "${c.req.header('content-type') ?? 'none'}")`,
      );
    }
    try {
      body = JSON.parse(raw);
    } catch (error) {
      throw new ApiError(
        400,
        'invalid_json',
        `body is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  // A NUL can only reach a parsed string through the \u0000 escape; jsonb cannot hold it.
  if (raw.includes('\\u0000') && containsNul(body)) {
    throw new ApiError(400, 'invalid_json', 'body contains \\u0000 (NUL), which cannot be stored');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.header())) {
    if (!HIDDEN_HEADERS.has(name)) headers[name] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values[0] !== undefined) query[name] = values[0];
  }
  if (containsNul(query)) {
    throw new ApiError(400, 'invalid_query', 'query contains %00 (NUL), which cannot be stored');
  }
  return { raw, trigger: { body, headers, query } };
}
