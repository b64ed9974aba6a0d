import type { RunReply } from '../queue/reply-bus';

/**
 * Statuses whose responses carry no content (RFC 9110): 204 and 304 end at their header, and a
 * 205 must not have any. A JSON body there made Node announce `Content-Length: 4` on a 204
 * and send "null" after a 205, which a proxy sharing the connection may frame differently.
 */
const NO_CONTENT_STATUSES = new Set([204, 205, 304]);

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
    return new Response(noContent ? null : JSON.stringify(reply.body ?? null), {
      status,
      headers,
    });
  } catch {
    return failedRunResponse(
      { ...reply, status: 'failed' },
      'the respond step produced a status or header that cannot be sent',
    );
  }
}
