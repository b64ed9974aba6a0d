import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsDataKeys } from '../../../runtime/secrets/kms-data-keys';
import { type KmsStub, startKmsStub } from '../../support/kms-stub';
import { type LoopbackServer, serveOnLoopback } from '../../support/loopback-server';
import { startTestStack, type TestStack } from '../../support/stack';

/**
 * POST and PUT /v1/secrets seal the value under a data key from KMS. When KMS cannot serve
 * (down, failing or throttling), the API answers 503 kms_unavailable with Retry-After, over a
 * real socket, carrying none of the SDK's text: it is an outage, not a bug.
 */

let kms: KmsStub;
let stack: TestStack;
let server: LoopbackServer;
beforeAll(async () => {
  kms = await startKmsStub();
  stack = await startTestStack(
    {},
    {
      worker: false,
      secretsKeys: createKmsDataKeys({
        keyId: kms.keyId,
        client: {
          endpoint: kms.url,
          region: 'eu-west-1',
          credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
          maxAttempts: 1,
        },
      }),
    },
  );
  server = await serveOnLoopback(stack.api.fetch);
});
afterAll(async () => {
  await server.close();
  await stack.close();
  await kms.close();
});

const call = async (method: string, path: string, body: unknown) => {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, text: await res.text() };
};

describe('when KMS cannot serve', () => {
  // First: the cases below leave the stub failing.
  it('creates and rotates secrets while KMS answers', async () => {
    expect((await call('POST', '/v1/secrets', { name: 'KEPT', value: 'v1' })).res.status).toBe(201);
    expect((await call('PUT', '/v1/secrets/KEPT', { value: 'v2' })).res.status).toBe(200);
  });

  it.each([
    ['fails inside', { status: 500, __type: 'KMSInternalException' }],
    ['throttles', { status: 400, __type: 'ThrottlingException' }],
    ['drops the connection', { status: 0, __type: '' }],
  ])('answers POST and PUT 503 kms_unavailable when KMS %s', async (_how, failure) => {
    kms.respond(() => ({
      status: failure.status,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: failure.__type, message: 'internal detail 1a2b' }),
    }));
    for (const [method, path, body] of [
      ['POST', '/v1/secrets', { name: 'NEW_ONE', value: 'v' }],
      ['PUT', '/v1/secrets/KEPT', { value: 'v3' }],
    ] as const) {
      const { res, text } = await call(method, path, body);
      expect({ method, status: res.status, retryAfter: res.headers.get('retry-after') }).toEqual({
        method,
        status: 503,
        retryAfter: '1',
      });
      expect(JSON.parse(text)).toMatchObject({
        error: { code: 'kms_unavailable', requestId: expect.any(String) },
      });
      expect(text).not.toMatch(/KMSInternal|Throttling|1a2b|ECONN|socket|127\.0\.0\.1/);
    }
  });
});
