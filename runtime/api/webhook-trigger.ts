import type { Context } from 'hono';
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
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.header())) {
    if (!HIDDEN_HEADERS.has(name)) headers[name] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values[0] !== undefined) query[name] = values[0];
  }
  return { raw, trigger: { body, headers, query } };
}
