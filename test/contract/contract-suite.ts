import { describe, expect, it } from 'vitest';
import { expectAnswer } from './answer-checks';
import {
  contractCases,
  type Deployment,
  FILE_TEXT,
  type Fixtures,
  respondFlow,
  WEBHOOK_SECRET,
} from './contract-cases';
import { type ClientName, callApi, curlMissing } from './http-clients';

/** Starting takes seconds; on a 2-core box busy with other test files, many more. */
export const START_TIMEOUT_MS = 60_000;

/**
 * The suite sends a wrong key to every endpoint on purpose, all from 127.0.0.1: more than the
 * key-guess throttle allows in a minute. The throttle has its own test
 * (test/security/auth-rate-limit.test.ts).
 */
export const UNTHROTTLED = { SLUICE_AUTH_FAILURE_LIMIT: '100000' } as const;

/** Makes, over the API itself, what the cases act on. */
export async function createFixtures(base: string, apiKey: string): Promise<Fixtures> {
  const authorization = `Bearer ${apiKey}`;
  const send = async (path: string, init: RequestInit, status: number) => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: { authorization, ...init.headers },
      redirect: 'manual',
    });
    expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(status);
    return res;
  };
  const createFlow = async (extra: Record<string, unknown> = {}) => {
    const res = await send(
      '/v1/flows',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...respondFlow, ...extra }),
      },
      201,
    );
    return ((await res.json()) as { id: string }).id;
  };
  const [flowId, signedFlowId, disabledFlowId, toggledFlowId] = await Promise.all([
    createFlow(),
    createFlow({ webhookSecret: WEBHOOK_SECRET }),
    createFlow(),
    createFlow(),
  ]);
  await send(`/v1/flows/${disabledFlowId}/disable`, { method: 'POST' }, 200);
  const accepted = await send(`/v1/webhooks/${flowId}`, { method: 'POST' }, 202);
  const { runId } = (await accepted.json()) as { runId: string };
  const uploaded = await send(
    '/v1/files?name=hello.txt',
    { method: 'POST', headers: { 'content-type': 'text/plain' }, body: FILE_TEXT },
    201,
  );
  const { id: fileId, url } = (await uploaded.json()) as { id: string; url: string };
  const signed = new URL(url);
  return {
    apiKey,
    flowId,
    signedFlowId,
    disabledFlowId,
    toggledFlowId,
    runId,
    fileId,
    fileUrl: `${signed.pathname}${signed.search}`,
    freshFlow: () => createFlow(),
  };
}

/**
 * Registers every case of the README's API table once per client (Node's fetch, and curl when
 * the machine has it) against the deployment `target()` returns once its beforeAll ran.
 */
export function describeContract(
  deployment: Deployment,
  target: () => { base: string; fixtures: Fixtures },
) {
  const cases = contractCases(deployment);
  for (const client of ['fetch', 'curl'] satisfies ClientName[]) {
    const skip = client === 'curl' ? curlMissing : null;
    describe.skipIf(skip !== null)(
      `with ${client}${skip === null ? '' : ` (skipped: ${skip})`}`,
      () => {
        // One it() per case, by its full name: it.each would cut long names short.
        for (const contractCase of cases) {
          it(contractCase.name, async () => {
            const { base, fixtures } = target();
            const request = await contractCase.request(fixtures);
            expectAnswer(await callApi(client, base, request), request, contractCase.expect);
          });
        }

        it('answers a repeated Idempotency-Key with the first run id', async () => {
          const { base, fixtures } = target();
          const request = {
            method: 'POST',
            path: `/v1/webhooks/${fixtures.flowId}`,
            headers: { 'idempotency-key': `contract-${client}-${Date.now()}` },
          };
          const first = await callApi(client, base, request);
          const again = await callApi(client, base, request);
          expectAnswer(first, request, { status: 202, json: { runId: expect.any(String) } });
          expectAnswer(again, request, { status: 202, json: JSON.parse(first.text) });
        });
      },
    );
  }
}
