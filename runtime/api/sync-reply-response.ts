import type { RunReply } from '../queue/reply-bus';

const failedRunResponse = (reply: RunReply, error: string) =>
  Response.json(
    { runId: reply.runId, status: reply.status, error, failedStep: reply.failedStep ?? null },
    { status: 500 },
  );

/**
 * The sync webhook's answer: the respond step's status, headers and JSON body for a run that
 * succeeded, else 500 `{runId, status, error, failedStep}`. The engine already refused
 * statuses outside 200–599 and headers a flow may not set; a reply that still cannot be sent
 * becomes the usual JSON 500, never a plain-text one.
 */
export function syncReplyResponse(reply: RunReply): Response {
  if (reply.status !== 'succeeded') return failedRunResponse(reply, reply.error ?? reply.status);
  try {
    const headers = new Headers({ 'content-type': 'application/json' });
    // set() matches names case-insensitively: a flow's JSON content-type replaces ours.
    for (const [name, value] of Object.entries(reply.headers ?? {})) headers.set(name, value);
    return new Response(JSON.stringify(reply.body ?? null), {
      status: reply.responseStatus ?? 200,
      headers,
    });
  } catch {
    return failedRunResponse(
      { ...reply, status: 'failed' },
      'the respond step produced a status or header that cannot be sent',
    );
  }
}
