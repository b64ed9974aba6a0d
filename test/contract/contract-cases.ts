import { expect } from 'vitest';
import { signedHeaders } from '../support/webhook-signing';
import type { Expectation } from './answer-checks';
import type { ApiRequest } from './http-clients';

/** What the cases need from the deployment under test, made in its beforeAll. */
export interface Fixtures {
  apiKey: string;
  /** Enabled; its respond step answers 200 `{ ok: true }`. */
  flowId: string;
  /** Requires a signature with WEBHOOK_SECRET. */
  signedFlowId: string;
  disabledFlowId: string;
  /** Disabled and enabled again by the cases, in any order. */
  toggledFlowId: string;
  runId: string;
  fileId: string;
  /** Path and query of the uploaded file's signed download URL. */
  fileUrl: string;
  /** A new flow, for cases that delete one. */
  freshFlow(): Promise<string>;
}

export interface Deployment {
  mode: 'split' | 'embedded';
  /** Basic-auth credentials when Bull Board is on. */
  queueUi?: { user: string; password: string };
}

export interface ContractCase {
  name: string;
  request: (f: Fixtures) => ApiRequest | Promise<ApiRequest>;
  expect: Expectation;
}

export const WEBHOOK_SECRET = 'contract-webhook-secret-0123';
export const FILE_TEXT = 'hello contract';

export const respondFlow = {
  name: 'contract',
  trigger: { type: 'webhook' },
  steps: [{ id: 'reply', type: 'respond', status: 200, body: { ok: true } }],
};

type PathOf = (f: Fixtures) => string | Promise<string>;

const JSON_TYPE = { 'content-type': 'application/json' };
const bearer = (f: Fixtures) => ({ authorization: `Bearer ${f.apiKey}` });
const withSlash = (path: string) => path.replace(/(\?|$)/, '/$1');
const notJson = { status: 415, code: 'unsupported_media_type' };

/** GET, HEAD, a trailing slash, OPTIONS, an unknown method and, with a key, no or a wrong key. */
function readable(
  label: string,
  path: PathOf,
  ok: Expectation,
  allow: string,
  { auth = true, slash = true } = {},
) {
  const headers = (f: Fixtures) => (auth ? bearer(f) : {});
  const cases: ContractCase[] = [
    {
      name: `GET ${label}`,
      request: async (f) => ({ method: 'GET', path: await path(f), headers: headers(f) }),
      expect: ok,
    },
    {
      name: `HEAD ${label} mirrors GET without a body`,
      request: async (f) => ({ method: 'HEAD', path: await path(f), headers: headers(f) }),
      expect: { status: ok.status, ...(ok.contentType ? { contentType: ok.contentType } : {}) },
    },
    {
      name: `OPTIONS ${label} answers 204 with Allow, without a key`,
      request: async (f) => ({ method: 'OPTIONS', path: await path(f) }),
      expect: { status: 204, allow, text: '' },
    },
    {
      name: `PATCH ${label} answers 405 with Allow`,
      request: async (f) => ({ method: 'PATCH', path: await path(f), headers: headers(f) }),
      expect: { status: 405, code: 'method_not_allowed', allow },
    },
  ];
  if (slash) {
    cases.push({
      name: `GET ${label} with a trailing slash`,
      request: async (f) => ({
        method: 'GET',
        path: withSlash(await path(f)),
        headers: headers(f),
      }),
      expect: ok,
    });
  }
  if (auth) cases.push(...keyRefusals(`GET ${label}`, 'GET', path));
  return cases;
}

function keyRefusals(label: string, method: string, path: PathOf): ContractCase[] {
  const unauthorized = {
    status: 401,
    code: 'unauthorized',
    headers: { 'www-authenticate': 'Bearer' },
  };
  return [
    {
      name: `${label} without a key`,
      request: async (f) => ({ method, path: await path(f) }),
      expect: unauthorized,
    },
    {
      name: `${label} with a wrong key`,
      request: async (f) => ({
        method,
        path: await path(f),
        headers: { authorization: 'Bearer sk_wrong_0123456789abcdef' },
      }),
      expect: unauthorized,
    },
  ];
}

type Shape = [name: string, request: Partial<ApiRequest>, expected: Expectation];

/**
 * A write with a key, in each of `shapes`, with a trailing slash (sent as `slashed`), and
 * without a key or with a wrong one.
 */
function keyedWrite(
  label: string,
  method: string,
  path: PathOf,
  shapes: Shape[],
  slashed: Partial<ApiRequest>,
  ok: Expectation,
): ContractCase[] {
  const send = (request: Partial<ApiRequest>, slash: boolean) => async (f: Fixtures) => {
    const at = await path(f);
    return {
      method,
      path: slash ? withSlash(at) : at,
      ...request,
      headers: { ...bearer(f), ...request.headers },
    };
  };
  return [
    ...shapes.map(([shape, request, expected]) => ({
      name: `${method} ${label} with ${shape}`,
      request: send(request, false),
      expect: expected,
    })),
    { name: `${method} ${label} with a trailing slash`, request: send(slashed, true), expect: ok },
    ...keyRefusals(`${method} ${label}`, method, path),
  ];
}

/** A POST or DELETE that takes no body: every way of sending none, or an empty one, works. */
const bodiless = (label: string, method: string, path: PathOf, ok: Expectation) =>
  keyedWrite(
    label,
    method,
    path,
    [
      ['no body', {}, ok],
      ['an empty body', { body: '' }, ok],
      ['a JSON body', { body: '{}', headers: JSON_TYPE }, ok],
      ['a chunked empty body', { body: '', chunked: true }, ok],
      ['a chunked JSON body', { body: '{}', chunked: true, headers: JSON_TYPE }, ok],
      ['a body that is not JSON', { body: '{"a":1}' }, notJson],
    ],
    {},
    ok,
  );

/** A POST or PUT of a flow definition. */
function definitionWrite(label: string, method: string, path: PathOf, ok: Expectation) {
  const definition = JSON.stringify(respondFlow);
  const invalidJson = { status: 400, code: 'invalid_json' };
  const asJson = { body: definition, headers: JSON_TYPE };
  return keyedWrite(
    label,
    method,
    path,
    [
      ['a JSON body', asJson, ok],
      ['a chunked JSON body', { ...asJson, chunked: true }, ok],
      ['no body', {}, { status: 400, code: 'invalid_request' }],
      ['an empty JSON body', { body: '', headers: JSON_TYPE }, invalidJson],
      ['malformed JSON', { body: '{"name":', headers: JSON_TYPE }, invalidJson],
      ['JSON sent without a content type', { body: definition }, notJson],
      ['an empty body without a content type', { body: '' }, notJson],
    ],
    asJson,
    ok,
  );
}

/** A webhook, as callers send one: any of these bodies, signed when the flow says so. */
function webhook(label: string, suffix: string, ok: Expectation): ContractCase[] {
  const at = (flow: keyof Fixtures) => (f: Fixtures) =>
    `/v1/webhooks/${f[flow] as string}${suffix}`;
  const shapes: Shape[] = [
    ['no body', {}, ok],
    ['an empty body', { body: '' }, ok],
    ['a JSON body', { body: '{"n":1}', headers: JSON_TYPE }, ok],
    ['a chunked JSON body', { body: '{"n":1}', chunked: true, headers: JSON_TYPE }, ok],
    ['a chunked empty body', { body: '', chunked: true }, ok],
    ['JSON sent without a content type', { body: '{"n":1}' }, notJson],
    [
      'malformed JSON',
      { body: '{"n":', headers: JSON_TYPE },
      { status: 400, code: 'invalid_json' },
    ],
  ];
  const cases = shapes.map(
    ([shape, request, expected]): ContractCase => ({
      name: `POST ${label} with ${shape}`,
      request: (f) => ({ method: 'POST', path: at('flowId')(f), ...request }),
      expect: expected,
    }),
  );
  const allow = 'POST, OPTIONS';
  const signed = (body: string) => ({ ...JSON_TYPE, ...signedHeaders(WEBHOOK_SECRET, body) });
  cases.push(
    {
      name: `POST ${label} with a trailing slash`,
      request: (f) => ({ method: 'POST', path: withSlash(at('flowId')(f)) }),
      expect: ok,
    },
    {
      name: `GET ${label} answers 405 with Allow`,
      request: (f) => ({ method: 'GET', path: at('flowId')(f) }),
      expect: { status: 405, code: 'method_not_allowed', allow },
    },
    {
      name: `HEAD ${label} answers 405 with Allow`,
      request: (f) => ({ method: 'HEAD', path: at('flowId')(f) }),
      expect: { status: 405, allow },
    },
    {
      name: `OPTIONS ${label} answers 204 with Allow`,
      request: (f) => ({ method: 'OPTIONS', path: at('flowId')(f) }),
      expect: { status: 204, allow, text: '' },
    },
    {
      name: `POST ${label} of an unknown flow`,
      request: () => ({ method: 'POST', path: `/v1/webhooks/flw_unknown${suffix}` }),
      expect: { status: 404, code: 'flow_not_found' },
    },
    {
      name: `POST ${label} of a disabled flow`,
      request: (f) => ({ method: 'POST', path: at('disabledFlowId')(f) }),
      expect: { status: 409, code: 'flow_disabled' },
    },
    {
      name: `POST ${label} of a signing flow without a signature`,
      request: (f) => ({
        method: 'POST',
        path: at('signedFlowId')(f),
        body: '{}',
        headers: JSON_TYPE,
      }),
      expect: { status: 401, code: 'missing_timestamp' },
    },
    {
      name: `POST ${label} of a signing flow with a wrong signature`,
      request: (f) => ({
        method: 'POST',
        path: at('signedFlowId')(f),
        body: '{"n":2}',
        headers: { ...signed('{"n":1}') },
      }),
      expect: { status: 401, code: 'invalid_signature' },
    },
    {
      name: `POST ${label} of a signing flow, signed`,
      request: (f) => ({
        method: 'POST',
        path: at('signedFlowId')(f),
        body: '{"n":1}',
        headers: signed('{"n":1}'),
      }),
      expect: ok,
    },
    {
      name: `POST ${label} of a signing flow, signed and chunked`,
      request: (f) => ({
        method: 'POST',
        path: at('signedFlowId')(f),
        body: '{"n":1}',
        chunked: true,
        headers: signed('{"n":1}'),
      }),
      expect: ok,
    },
  );
  return cases;
}

const jsonOk = (status: number, json: unknown): Expectation => ({
  status,
  json,
  contentType: /^application\/json/,
});

/** Every endpoint of the README's API table, in the shapes people send. */
export function contractCases(deployment: Deployment): ContractCase[] {
  const checks = deployment.mode === 'split' ? { postgres: 'ok', redis: 'ok' } : { postgres: 'ok' };
  const flowPath = (f: Fixtures) => `/v1/flows/${f.flowId}`;
  const filePath = (f: Fixtures) => `/v1/files/${f.fileId}`;
  const tampered = (f: Fixtures) =>
    f.fileUrl.replace(/sig=[0-9a-f]/, (s) => (s.endsWith('0') ? 'sig=1' : 'sig=0'));
  const cases: ContractCase[] = [
    ...readable(
      '/v1/health',
      () => '/v1/health',
      jsonOk(200, { status: 'ok' }),
      'GET, HEAD, OPTIONS',
      { auth: false },
    ),
    ...readable(
      '/v1/health/ready',
      () => '/v1/health/ready',
      { ...jsonOk(200, {}), body: { status: 'ready', checks } },
      'GET, HEAD, OPTIONS',
      { auth: false },
    ),
    ...readable(
      '/v1/openapi.json',
      () => '/v1/openapi.json',
      jsonOk(200, { openapi: '3.1.0' }),
      'GET, HEAD, OPTIONS',
      { auth: false },
    ),
    ...webhook('/v1/webhooks/:flowId', '', jsonOk(202, { runId: expect.any(String) })),
    ...webhook('/v1/webhooks/:flowId/sync', '/sync', jsonOk(200, { ok: true })),
    ...definitionWrite('/v1/flows', 'POST', () => '/v1/flows', jsonOk(201, { version: 1 })),
    ...readable(
      '/v1/flows',
      () => '/v1/flows',
      jsonOk(200, { flows: expect.any(Array) }),
      'GET, HEAD, POST, OPTIONS',
    ),
    ...readable(
      '/v1/flows/:id',
      flowPath,
      jsonOk(200, { status: 'enabled', definition: respondFlow }),
      'GET, HEAD, PUT, DELETE, OPTIONS',
    ),
    ...definitionWrite('/v1/flows/:id', 'PUT', flowPath, jsonOk(200, {})),
    ...readable(
      '/v1/flows/:id/versions',
      (f) => `${flowPath(f)}/versions`,
      jsonOk(200, {}),
      'GET, HEAD, OPTIONS',
    ),
    ...bodiless(
      '/v1/flows/:id/disable',
      'POST',
      (f) => `/v1/flows/${f.toggledFlowId}/disable`,
      jsonOk(200, { status: 'disabled' }),
    ),
    ...bodiless(
      '/v1/flows/:id/enable',
      'POST',
      (f) => `/v1/flows/${f.toggledFlowId}/enable`,
      jsonOk(200, { status: 'enabled' }),
    ),
    ...bodiless('/v1/flows/:id', 'DELETE', (f) => f.freshFlow().then((id) => `/v1/flows/${id}`), {
      status: 204,
      text: '',
    }),
    ...readable(
      '/v1/runs',
      (f) => `/v1/runs?flowId=${f.flowId}`,
      jsonOk(200, { runs: expect.any(Array) }),
      'GET, HEAD, OPTIONS',
    ),
    ...readable(
      '/v1/runs/:id',
      (f) => `/v1/runs/${f.runId}`,
      jsonOk(200, {}),
      'GET, HEAD, OPTIONS',
    ),
    ...readable(
      '/v1/files/:id',
      filePath,
      { status: 302, location: /\/v1\/storage\/project\// },
      'GET, HEAD, OPTIONS',
    ),
    ...readable(
      'a signed download URL',
      (f) => f.fileUrl,
      { status: 200, text: FILE_TEXT, contentType: /^text\/plain/ },
      'GET, HEAD, PUT, OPTIONS',
      // A signed URL is opaque: a slash added to it names another object.
      { auth: false, slash: false },
    ),
    {
      name: 'GET a tampered download URL',
      request: (f) => ({ method: 'GET', path: tampered(f) }),
      expect: { status: 403, code: 'invalid_signature' },
    },
    {
      name: 'PUT to a download URL',
      request: (f) => ({ method: 'PUT', path: f.fileUrl, body: 'x' }),
      expect: { status: 403 },
    },
    {
      name: 'GET /v1/flows/:id of an unknown flow',
      request: (f) => ({ method: 'GET', path: '/v1/flows/flw_unknown', headers: bearer(f) }),
      expect: { status: 404, code: 'not_found' },
    },
    {
      name: 'GET /v1/runs/:id of an unknown run',
      request: (f) => ({
        method: 'GET',
        path: '/v1/runs/00000000-0000-4000-8000-000000000000',
        headers: bearer(f),
      }),
      expect: { status: 404, code: 'not_found' },
    },
    {
      name: 'GET /v1/runs with a bad limit',
      request: (f) => ({ method: 'GET', path: '/v1/runs?limit=0', headers: bearer(f) }),
      expect: { status: 400, code: 'invalid_request' },
    },
    {
      name: 'GET /v1/files/:id of an unknown file',
      request: (f) => ({
        method: 'GET',
        path: '/v1/files/00000000-0000-4000-8000-000000000000',
        headers: bearer(f),
      }),
      expect: { status: 404, code: 'not_found' },
    },
    {
      name: 'POST /v1/flows with a body over the 5 MiB management limit',
      request: (f) => ({
        method: 'POST',
        path: '/v1/flows',
        body: `{"name":"${'x'.repeat(6 * 1024 * 1024)}"}`,
        headers: { ...bearer(f), ...JSON_TYPE },
      }),
      expect: { status: 413, code: 'payload_too_large' },
    },
    {
      name: 'POST /v1/webhooks/:flowId with JSON nested deeper than 128 levels',
      request: (f) => ({
        method: 'POST',
        path: `/v1/webhooks/${f.flowId}`,
        body: `${'['.repeat(129)}${']'.repeat(129)}`,
        headers: JSON_TYPE,
      }),
      expect: { status: 400, code: 'invalid_json' },
    },
    {
      name: 'POST /v1/webhooks/:flowId with a NUL in the body',
      request: (f) => ({
        method: 'POST',
        path: `/v1/webhooks/${f.flowId}`,
        body: '{"n":"a\\u0000b"}',
        headers: JSON_TYPE,
      }),
      expect: { status: 400, code: 'invalid_json' },
    },
    {
      name: 'GET a URL holding %00',
      request: (f) => ({ method: 'GET', path: '/v1/flows/a%00b', headers: bearer(f) }),
      expect: { status: 400, code: 'invalid_request' },
    },
    {
      name: 'GET an unknown path',
      request: () => ({ method: 'GET', path: '/v1/nothing-here' }),
      expect: { status: 404, code: 'not_found' },
    },
    {
      name: 'OPTIONS an unknown path',
      request: () => ({ method: 'OPTIONS', path: '/v1/nothing-here' }),
      expect: { status: 404, code: 'not_found' },
    },
    ...fileUploads(),
    ...secretCases(),
    ...queueBoard(deployment),
  ];
  return cases;
}

/** The secrets endpoints; each case writes a name of its own, so cases run in any order. */
function secretCases(): ContractCase[] {
  let n = 0;
  const fresh = () => `CONTRACT_${Date.now()}_${n++}`;
  const send = (f: Fixtures, method: string, path: string, body?: unknown): ApiRequest => ({
    method,
    path,
    headers: { ...bearer(f), ...(body === undefined ? {} : JSON_TYPE) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const listing = { createdAt: expect.any(String), updatedAt: expect.any(String) };
  return [
    {
      name: 'POST /v1/secrets with a JSON body',
      request: (f) => send(f, 'POST', '/v1/secrets', { name: fresh(), value: 'contract-value' }),
      expect: jsonOk(201, listing),
    },
    {
      name: 'POST /v1/secrets with a name that is not an identifier',
      request: (f) => send(f, 'POST', '/v1/secrets', { name: 'not-ok', value: 'v' }),
      expect: { status: 400, code: 'invalid_request' },
    },
    ...readable('/v1/secrets', () => '/v1/secrets', jsonOk(200, {}), 'GET, HEAD, POST, OPTIONS'),
    {
      name: 'PUT /v1/secrets/:name of an unknown secret',
      request: (f) => send(f, 'PUT', `/v1/secrets/${fresh()}`, { value: 'v2' }),
      expect: { status: 404, code: 'not_found' },
    },
    {
      name: 'DELETE /v1/secrets/:name of an unknown secret',
      request: (f) => send(f, 'DELETE', `/v1/secrets/${fresh()}`),
      expect: { status: 404, code: 'not_found' },
    },
    ...keyRefusals('POST /v1/secrets', 'POST', () => '/v1/secrets'),
  ];
}

function fileUploads(): ContractCase[] {
  const upload = (f: Fixtures, request: Partial<ApiRequest>): ApiRequest => ({
    method: 'POST',
    path: '/v1/files?name=a.txt',
    ...request,
    headers: { ...bearer(f), ...request.headers },
  });
  const text = { 'content-type': 'text/plain' };
  return [
    {
      name: 'POST /v1/files with a body',
      request: (f) => upload(f, { body: 'hello', headers: text }),
      expect: jsonOk(201, { size: 5 }),
    },
    {
      name: 'POST /v1/files with a chunked body',
      request: (f) => upload(f, { body: 'hello', chunked: true, headers: text }),
      expect: jsonOk(201, { size: 5 }),
    },
    {
      name: 'POST /v1/files with no body',
      request: (f) => upload(f, {}),
      expect: jsonOk(201, { size: 0 }),
    },
    {
      name: 'POST /v1/files with a trailing slash',
      request: (f) => upload(f, { path: '/v1/files/?name=a.txt', body: 'hello', headers: text }),
      expect: jsonOk(201, { size: 5 }),
    },
    {
      name: 'OPTIONS /v1/files answers 204 with Allow',
      request: () => ({ method: 'OPTIONS', path: '/v1/files' }),
      expect: { status: 204, allow: 'POST, OPTIONS' },
    },
    {
      name: 'GET /v1/files answers 405 with Allow',
      request: (f) => ({ method: 'GET', path: '/v1/files', headers: bearer(f) }),
      expect: { status: 405, code: 'method_not_allowed', allow: 'POST, OPTIONS' },
    },
    ...keyRefusals('POST /v1/files', 'POST', () => '/v1/files?name=a.txt'),
  ];
}

function queueBoard({ queueUi }: Deployment): ContractCase[] {
  if (queueUi === undefined) {
    return [
      {
        name: 'GET /admin/queues when the queue UI is off',
        request: () => ({ method: 'GET', path: '/admin/queues' }),
        expect: { status: 404, code: 'not_found' },
      },
    ];
  }
  const basic = `Basic ${Buffer.from(`${queueUi.user}:${queueUi.password}`).toString('base64')}`;
  return [
    {
      name: 'GET /admin/queues without credentials',
      request: () => ({ method: 'GET', path: '/admin/queues' }),
      expect: {
        status: 401,
        code: 'unauthorized',
        headers: { 'www-authenticate': 'Basic realm="Secure Area"' },
      },
    },
    {
      name: 'GET /admin/queues with credentials',
      request: () => ({ method: 'GET', path: '/admin/queues', headers: { authorization: basic } }),
      expect: { status: 200, contentType: /^text\/html/ },
    },
  ];
}
