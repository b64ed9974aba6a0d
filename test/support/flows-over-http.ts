import { expect } from 'vitest';

/** Creates a flow through the API on a real socket (201 expected); answers its id. */
export async function createFlowOverHttp(
  base: string,
  headers: Record<string, string>,
  definition: unknown,
): Promise<string> {
  const res = await fetch(`${base}/v1/flows`, {
    method: 'POST',
    headers,
    body: JSON.stringify(definition),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Sends an async webhook of `flowId` on a real socket (202 expected); answers the run's id. */
export async function acceptRunOverHttp(base: string, flowId: string): Promise<string> {
  const res = await fetch(`${base}/v1/webhooks/${flowId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}
