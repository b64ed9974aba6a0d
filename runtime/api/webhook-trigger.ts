import type { Context } from 'hono';
import { findUnstorable, mayHoldUnstorable } from '../db/storable-text';
import type { TriggerInput } from '../engine';
import { MAX_JSON_DEPTH, scanJsonText } from '../json-depth';
import { ApiError } from './errors';
import { isJsonContentType } from './middleware/require-json';
import { type BodyMemoryHold, webhookBodyCost } from './webhook-memory-budget';
import { SIGNATURE_HEADER } from './webhook-signature';

const utf8 = new TextDecoder();

/** Credentials the caller sent to us are not the flow's business. */
const HIDDEN_HEADERS = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  SIGNATURE_HEADER,
]);

/**
 * Reads the body once: the signature check needs the exact bytes, the flow the JSON.
 * Everything the run row will hold is checked here, so one caller's input can only ever fail
 * its own request, never a batch it shares an INSERT with. What parsing will build is held in
 * `memory` first, so a body that would outgrow what this APP can hold is refused unparsed.
 */
export async function readWebhookRequest(
  c: Context,
  memory: BodyMemoryHold | undefined,
): Promise<{ bytes: Uint8Array; trigger: TriggerInput }> {
  // The signature covers the bytes as sent; the flow gets their text (decoded as fetch's
  // text() does: a leading BOM dropped, a byte that is no UTF-8 read as U+FFFD). Read from
  // the raw request, not c.req, which would keep them for as long as a sync caller waits.
  const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
  const raw = utf8.decode(bytes);
  let body: unknown = null;
  if (raw.length > 0) {
    if (!isJsonContentType(c.req.header('content-type'))) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        `content-type must be application/json (got "${c.req.header('content-type') ?? 'none'}")`,
      );
    }
    const shape = scanJsonText(raw);
    if (shape.tooDeep) {
      throw new ApiError(
        400,
        'invalid_json',
        `body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    memory?.resize(webhookBodyCost(bytes.length, shape.values));
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
  if (mayHoldUnstorable(raw)) refuseUnstorable(body, 'body', 'invalid_json');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.header())) {
    if (!HIDDEN_HEADERS.has(name)) headers[name] = value;
  }
  refuseUnstorable(headers, 'headers', 'invalid_header');
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values[0] !== undefined) query[name] = values[0];
  }
  refuseUnstorable(query, 'query', 'invalid_query');
  return { bytes, trigger: { body, headers, query } };
}

function refuseUnstorable(value: unknown, where: string, code: string): void {
  const place = findUnstorable(value, where);
  if (place !== null) throw new ApiError(400, code, `${place.path} ${place.problem}`);
}
