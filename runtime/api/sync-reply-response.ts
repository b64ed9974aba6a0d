import type { RunReply } from '../queue/reply-bus';

/**
 * Statuses whose responses carry no content (RFC 9110): 204 and 304 end at their header, and a
 * 205 must not have any. A JSON body there made Node announce `Content-Length: 4` on a 204
 * and send "null" after a 205, which a proxy sharing the connection may frame differently.
 */
const NO_CONTENT_STATUSES = new Set([204, 205, 304]);

/** A character past ASCII; header values hold none beyond U+00FF (checked by the engine). */
const BEYOND_ASCII = /[\u0080-\uffff]/;
const utf8 = new TextEncoder();

/**
 * The body as Node should write it. Handed a string, Node sends the head and the body as one
 * UTF-8 write, so a header's "é" left as two bytes (read as "Ã©") when there was a body and as
 * one without; handed bytes, it writes the head as Latin-1, one byte a character. Encoding here
 * only when a header needs it keeps the usual reply on Node's single write.
 */
const bodyFor = (json: string, headers: Record<string, string>): string | Uint8Array =>
  Object.values(headers).some((value) => BEYOND_ASCII.test(value)) ? utf8.encode(json) : json;

const failedRunResponse = (reply: RunReply, error: string) =>
  Response.json(
    { runId: reply.runId, status: reply.status, error, failedStep: reply.failedStep ?? null },
    { status: 500 },
  );

/**
 * The sync webhook's answer: the respond step's status, headers and JSON body for a run that
 * succeeded (no body for 204, 205 and 304), else 500 `{runId, status, error, failedStep}`. The
 * engine already refused statuses outside 200–599 and headers a flow may not set; a reply that
 * still cannot be sent becomes the usual JSON 500, never a plain-text one.
 */
export function syncReplyResponse(reply: RunReply): Response {
  if (reply.status !== 'succeeded') return failedRunResponse(reply, reply.error ?? reply.status);
  try {
    const status = reply.responseStatus ?? 200;
    const noContent = NO_CONTENT_STATUSES.has(status);
    const headers = new Headers(noContent ? {} : { 'content-type': 'application/json' });
    // set() matches names case-insensitively: a flow's JSON content-type replaces ours.
    for (const [name, value] of Object.entries(reply.headers ?? {})) headers.set(name, value);
    const body = noContent
      ? null
      : bodyFor(JSON.stringify(reply.body ?? null), reply.headers ?? {});
    return new Response(body, { status, headers });
  } catch {
    return failedRunResponse(
      { ...reply, status: 'failed' },
      'the respond step produced a status or header that cannot be sent',
    );
  }
}
