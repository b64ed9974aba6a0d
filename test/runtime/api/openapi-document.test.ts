import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../../support/flows';
import { type LoopbackServer, serveOnLoopback } from '../../support/loopback-server';
import { startTestStack, type TestStack } from '../../support/stack';

/**
 * The OpenAPI document is what clients are generated from: an operation that needs the API key
 * must say so (a generated client otherwise sends none), and one that is public must not.
 * Checked against what each route answers over a real socket to a caller without a key.
 */
interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}
interface OpenApiDocument {
  security?: Record<string, string[]>[];
  components: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

let stack: TestStack;
let server: LoopbackServer;
let doc: OpenApiDocument;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  server = await serveOnLoopback(stack.api.fetch);
  doc = (await (await fetch(`${server.base}/v1/openapi.json`)).json()) as OpenApiDocument;
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

/** The schemes an operation asks for: its own list, else the document's default. */
const schemesOf = (operation: Operation) =>
  (operation.security ?? doc.security ?? []).flatMap((requirement) => Object.keys(requirement));

describe('the OpenAPI document', () => {
  it('names the bearer scheme', () => {
    expect(doc.components.securitySchemes?.bearer).toEqual({ type: 'http', scheme: 'bearer' });
  });

  it('says which operations need the API key, as the routes answer without one', async () => {
    const found = operations();
    expect(found.length).toBeGreaterThan(20);
    const mismatches: string[] = [];
    for (const { path, method, operation } of found) {
      const url = `${server.base}${path.replace(/\{[^}]+\}/g, 'x')}`;
      const res = await fetch(url, { method: method.toUpperCase() });
      await res.arrayBuffer();
      const needsKey = res.status === 401;
      const schemes = schemesOf(operation);
      const declared = needsKey
        ? schemes.includes('bearer') && '401' in operation.responses
        : schemes.length === 0;
      if (!declared) {
        mismatches.push(
          `${method.toUpperCase()} ${path}: answers ${res.status}, asks [${schemes}]`,
        );
      }
    }
    expect(mismatches).toEqual([]);
  });

  describe('declares the statuses the flow, run list and webhook routes answer', () => {
    let open: string;
    let signed: string;
    let disabled: string;
    beforeAll(async () => {
      const create = async (extra: object) => {
        const res = await stack.call('POST', '/v1/flows', { ...doubleFlow, ...extra });
        return ((await res.json()) as { id: string }).id;
      };
      open = await create({});
      signed = await create({ webhookSecret: 'a-webhook-secret-0123' });
      disabled = await create({});
      await stack.call('POST', `/v1/flows/${disabled}/disable`);
    });

    const key = () => ({ authorization: `Bearer ${stack.apiKey}` });
    const asJson = { 'content-type': 'application/json' };
    const cases: [string, string, () => [string, RequestInit]][] = [
      [
        'post',
        '/v1/webhooks/{flowId}',
        () => [`/v1/webhooks/${signed}`, { headers: asJson, body: '{}' }],
      ],
      [
        'post',
        '/v1/webhooks/{flowId}',
        () => [`/v1/webhooks/${open}`, { headers: { 'content-type': 'text/plain' }, body: 'x' }],
      ],
      [
        'post',
        '/v1/webhooks/{flowId}',
        () => [`/v1/webhooks/${open}`, { headers: asJson, body: '{' }],
      ],
      [
        'post',
        '/v1/webhooks/{flowId}/sync',
        () => [`/v1/webhooks/${signed}/sync`, { headers: asJson, body: '{}' }],
      ],
      ['post', '/v1/webhooks/{flowId}/sync', () => ['/v1/webhooks/nope/sync', {}]],
      ['post', '/v1/webhooks/{flowId}/sync', () => [`/v1/webhooks/${disabled}/sync`, {}]],
      [
        'put',
        '/v1/flows/{id}',
        () => [`/v1/flows/${signed}`, { headers: { ...key(), ...asJson }, body: '{}' }],
      ],
      [
        'post',
        '/v1/flows',
        () => ['/v1/flows', { headers: { ...key(), 'content-type': 'text/plain' }, body: 'x' }],
      ],
      ['get', '/v1/flows/{id}/versions', () => ['/v1/flows/nope/versions', { headers: key() }]],
      ['get', '/v1/flows', () => ['/v1/flows?limit=0', { headers: key() }]],
      ['get', '/v1/runs', () => ['/v1/runs?limit=0', { headers: key() }]],
      ['get', '/v1/runs', () => ['/v1/runs?cursor=garbage', { headers: key() }]],
      ['get', '/v1/runs', () => ['/v1/runs?status=exploded', { headers: key() }]],
      ['get', '/v1/flows', () => ['/v1/flows?cursor=garbage', { headers: key() }]],
      [
        'get',
        '/v1/flows/{id}/versions',
        () => [`/v1/flows/${open}/versions?limit=abc`, { headers: key() }],
      ],
      [
        'get',
        '/v1/flows/{id}/versions',
        () => [`/v1/flows/${open}/versions?cursor=garbage`, { headers: key() }],
      ],
      ['post', '/v1/flows/{id}/disable', () => ['/v1/flows/nope/disable', { headers: key() }]],
      ['post', '/v1/flows/{id}/enable', () => ['/v1/flows/nope/enable', { headers: key() }]],
    ];
    it.each(cases)('%s %s', async (method, path, request) => {
      const [url, init] = request();
      const res = await fetch(`${server.base}${url}`, { method: method.toUpperCase(), ...init });
      const { error } = (await res.json()) as { error: { code: string } };
      expect(res.status).toBeGreaterThanOrEqual(400);
      const declared = Object.keys(doc.paths[path]?.[method]?.responses ?? {});
      expect(declared, `${res.status} ${error.code}`).toContain(String(res.status));
    });
  });
});
