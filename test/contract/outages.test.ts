import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomQueuePrefix } from '../support/database';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis';
import { expectAnswer } from './answer-checks';
import { respondFlow } from './contract-cases';
import { START_TIMEOUT_MS } from './contract-suite';
import { type ApiRequest, type ClientName, callApi, curlMissing } from './http-clients';

/**
 * An app and a worker from dist/ on a PostgreSQL and a Redis of their own, which the tests
 * stop, hang (SIGSTOP: connections open, nothing answers) and bring back, while every route is
 * called over HTTP.
 */
const API_KEY = 'sk_contract_outages_key_0123456789';
/** The README: "within 1 s" for a dependency down; about 2 s (the query and connect bound) for PostgreSQL hanging. */
const DOWN_MS = 1000;
const HANG_MS = 2000;
/** Headroom for a 2-core machine shared with other test files. */
const SLACK_MS = 1500;

let pg: ThrowawayPostgres;
let redis: ThrowawayRedis;
let dataDir: string;
let processes: SluiceProcess[] = [];
let base: string;
let ids: { flowId: string; runId: string; fileId: string };

const auth = { authorization: `Bearer ${API_KEY}` };
const asJson = { ...auth, 'content-type': 'application/json' };
const clients: ClientName[] = curlMissing === null ? ['fetch', 'curl'] : ['fetch'];

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, { ...init, headers: { ...asJson, ...init.headers } });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

beforeAll(async () => {
  [pg, redis, dataDir] = await Promise.all([
    startThrowawayPostgres(),
    startThrowawayRedis(),
    mkdtemp(join(tmpdir(), 'sluice-contract-outages-')),
  ]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const shared = {
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_STORAGE: 'local',
    SLUICE_DATA_DIR: dataDir,
    SLUICE_PUBLIC_URL: base,
    SLUICE_WEBHOOK_TIMEOUT_S: '5',
    // Idle connections stay open, so a hung server is met on connected clients too.
    SLUICE_DB_IDLE_TIMEOUT_MS: '120000',
  };
  const app = await startSluice(
    {
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
    },
    START_TIMEOUT_MS,
  );
  processes = [app, await startSluice({ ...shared, SLUICE_ROLE: 'worker' }, START_TIMEOUT_MS)];
  const flow = await call('/v1/flows', { method: 'POST', body: JSON.stringify(respondFlow) });
  const run = await call(`/v1/webhooks/${flow.body.id}`, { method: 'POST' });
  const file = await call('/v1/files?name=a.txt', {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
  });
  ids = { flowId: flow.body.id ?? '', runId: run.body.runId ?? '', fileId: file.body.id ?? '' };
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await redis?.stop();
  await pg?.destroy();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** The webhooks: the routes that enqueue. */
const webhookRoutes = (): ApiRequest[] => [
  { method: 'POST', path: `/v1/webhooks/${ids.flowId}`, body: '{"n":1}', headers: asJson },
  { method: 'POST', path: `/v1/webhooks/${ids.flowId}/sync`, body: '{"n":1}', headers: asJson },
];

/** Every other route of the README's table that reads or writes PostgreSQL. */
const managementRoutes = (): ApiRequest[] => {
  const flow = `/v1/flows/${ids.flowId}`;
  const definition = JSON.stringify(respondFlow);
  return [
    { method: 'POST', path: '/v1/flows', body: definition, headers: asJson },
    { method: 'GET', path: '/v1/flows', headers: auth },
    { method: 'GET', path: flow, headers: auth },
    { method: 'PUT', path: flow, body: definition, headers: asJson },
    { method: 'GET', path: `${flow}/versions`, headers: auth },
    { method: 'POST', path: `${flow}/disable`, headers: auth },
    { method: 'POST', path: `${flow}/enable`, headers: auth },
    { method: 'DELETE', path: flow, headers: auth },
    { method: 'GET', path: '/v1/runs', headers: auth },
    { method: 'GET', path: `/v1/runs/${ids.runId}`, headers: auth },
    {
      method: 'POST',
      path: '/v1/files?name=b.txt',
      body: 'hello',
      headers: { ...auth, 'content-type': 'text/plain' },
    },
    { method: 'GET', path: `/v1/files/${ids.fileId}`, headers: auth },
    // The key lookup comes first: a request without a valid key meets the outage there.
    {
      method: 'GET',
      path: '/v1/flows',
      headers: { authorization: 'Bearer sk_not_a_key_0123456789' },
    },
  ];
};

const ready: ApiRequest = { method: 'GET', path: '/v1/health/ready' };

/** Sends every request with every client at once; each answer and how long it took. */
async function callAll(requests: ApiRequest[]) {
  const calls = clients.flatMap((client) => requests.map((request) => ({ client, request })));
  return Promise.all(
    calls.map(async ({ client, request }) => {
      const started = performance.now();
      const answer = await callApi(client, base, request);
      return { client, request, answer, ms: performance.now() - started };
    }),
  );
}

/** Each request answers 503 `code` with Retry-After: 1 within `withinMs`. */
async function expectUnavailable(requests: ApiRequest[], code: string, withinMs: number) {
  for (const { client, request, answer, ms } of await callAll(requests)) {
    const expected = request.path === ready.path ? 'not_ready' : code;
    expectAnswer(answer, request, { status: 503, code: expected });
    expect(
      ms,
      `${client} ${request.method} ${request.path} took ${Math.round(ms)} ms`,
    ).toBeLessThan(withinMs);
  }
}

/** A webhook is accepted again within 5 s of the dependency's return (the README's promise). */
async function expectResumes() {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { status } = await call(`/v1/webhooks/${ids.flowId}`, { method: 'POST' });
    if (status === 202) return;
    expect(Date.now(), `webhooks still answer ${status}`).toBeLessThan(deadline);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('when Redis is down', () => {
  it('answers the webhooks and readiness 503 with Retry-After within 1 s, and every other route as usual', async () => {
    await redis.stop();
    try {
      await expectUnavailable([...webhookRoutes(), ready], 'queue_unavailable', DOWN_MS + SLACK_MS);
      for (const { request, answer } of await callAll(managementRoutes().slice(1, 3))) {
        expectAnswer(answer, request, { status: 200 });
      }
    } finally {
      await redis.start();
    }
    await expectResumes();
  });

  it("leaves a refused webhook's Idempotency-Key free, so the retry after Redis returns runs", async () => {
    const headers = { 'idempotency-key': `refused-${randomUUID()}` };
    const webhook = `/v1/webhooks/${ids.flowId}`;
    await redis.stop();
    let refused: Awaited<ReturnType<typeof call>>;
    try {
      refused = await call(webhook, { method: 'POST', headers });
    } finally {
      await redis.start();
    }
    // 503: "no run will execute", so the caller retries (Retry-After) with the same key.
    expect(refused.status).toBe(503);
    const deadline = Date.now() + 5000;
    let accepted = await call(webhook, { method: 'POST', headers });
    while (accepted.status !== 202 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 100));
      accepted = await call(webhook, { method: 'POST', headers });
    }
    expect(accepted.status).toBe(202);
    const runId = accepted.body.runId ?? '';
    const runDeadline = Date.now() + 15_000;
    let run = await call(`/v1/runs/${runId}`);
    while (['queued', 'running'].includes(run.body.status ?? '') && Date.now() < runDeadline) {
      await new Promise((done) => setTimeout(done, 100));
      run = await call(`/v1/runs/${runId}`);
    }
    // The accepted retry is a run that runs, not the refused (canceled) one.
    expect(run.body).toMatchObject({ status: 'succeeded' });
  });
});

describe('when PostgreSQL is down', () => {
  it('answers every route 503 with Retry-After within 1 s, and liveness 200', async () => {
    await pg.stop();
    try {
      await expectUnavailable(
        [...webhookRoutes(), ...managementRoutes(), ready],
        'database_unavailable',
        DOWN_MS + SLACK_MS,
      );
      const [alive] = await callAll([{ method: 'GET', path: '/v1/health' }]);
      expect(alive?.answer.status).toBe(200);
    } finally {
      await pg.start();
    }
    await expectResumes();
  });
});

describe('when PostgreSQL hangs (connections open, nothing answers)', () => {
  it('answers every route 503 with Retry-After within about 2 s, on connected and new connections alike', async () => {
    // Open several pooled connections, which the hang then holds silent.
    await Promise.all(Array.from({ length: 6 }, () => call('/v1/flows')));
    await pg.pause();
    try {
      await expectUnavailable(
        [...webhookRoutes(), ...managementRoutes(), ready],
        'database_unavailable',
        HANG_MS + SLACK_MS,
      );
    } finally {
      await pg.resume();
    }
    await expectResumes();
  });
});
