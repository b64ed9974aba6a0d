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
