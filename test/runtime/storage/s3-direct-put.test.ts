import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3DirectPut } from '../../../runtime/storage/s3-direct-put';
import { createS3FileStore } from '../../../runtime/storage/s3-file-store';
import { type HttpStub, startHttpStub } from '../../support/http-stub';
import { signedAt, sigV4Problem } from '../../support/sigv4-verifier';
import { startSilentServer } from '../../support/silent-server';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-for-tests' };
const ok = () => ({ status: 200, headers: { etag: '"x"' }, body: '' });
const s3Error = (status: number, code: string) => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`,
});

function directPutTo(endpoint: string, extra: { sessionToken?: string } = {}) {
  const client = new S3Client({
    region: 'eu-west-1',
    endpoint,
    forcePathStyle: true,
    credentials: { ...credentials, ...extra },
  });
  return createS3DirectPut({
    client,
    bucket: 'logs-bucket',
    region: 'eu-west-1',
    endpoint,
    maxAttempts: 3,
    connectionTimeoutMs: 1_000,
  });
}

describe('S3 direct PUT (small objects without the SDK pipeline)', () => {
  let stub: HttpStub;
  beforeAll(async () => {
    stub = await startHttpStub(ok);
  });
  afterEach(() => {
    stub.requests.length = 0;
    stub.respond(ok);
  });
  afterAll(() => stub.close());

  it('sends a SigV4 request that verifies for exactly the path, headers and body received', async () => {
    const put = directPutTo(stub.url);
    await put({
      key: 'project/p1/RUN_LOG/run one+(1)',
      body: '{"runId":"r1","steps":[]}',
      contentType: 'application/json',
      tagging: 'sluice-kind=RUN_LOG',
      timeoutMs: 2_000,
    });

    const [request] = stub.requests;
    expect(request?.method).toBe('PUT');
    // Path-style, each key segment RFC 3986-encoded as S3 canonicalises it.
    expect(request?.path).toBe('/logs-bucket/project/p1/RUN_LOG/run%20one%2B%281%29');
    expect(request?.body).toBe('{"runId":"r1","steps":[]}');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-amz-tagging']).toBe('sluice-kind=RUN_LOG');
    expect(String(request?.headers.authorization)).toContain('Credential=AKIDEXAMPLE/');
    expect(String(request?.headers.authorization)).toContain('/eu-west-1/s3/aws4_request');
    expect(sigV4Problem(request as NonNullable<typeof request>, credentials.secretAccessKey)).toBe(
      null,
    );
    // The oracle is not lenient: the same request with one byte changed fails.
    expect(
      sigV4Problem(
        { ...(request as NonNullable<typeof request>), body: '{}' },
        credentials.secretAccessKey,
      ),
    ).toBe('payload hash does not match');
  });

  it('signs the session token of temporary credentials (the ECS task role)', async () => {
    const put = directPutTo(stub.url, { sessionToken: 'token-from-the-task-role' });
    await put({ key: 'project/p1/FILE/f1', body: 'x', timeoutMs: 2_000 });
    const [request] = stub.requests;
    expect(request?.headers['x-amz-security-token']).toBe('token-from-the-task-role');
    expect(sigV4Problem(request as NonNullable<typeof request>, credentials.secretAccessKey)).toBe(
      null,
    );
  });

  it('retries a 503 and a dropped connection, then succeeds', async () => {
    const answers = [s3Error(503, 'SlowDown'), { status: 0, body: '' }, ok()];
    stub.respond(() => answers.shift() ?? ok());
    await directPutTo(stub.url)({ key: 'project/p1/FILE/f2', body: 'x', timeoutMs: 2_000 });
    expect(stub.requests).toHaveLength(3);
  });

  it('fails after three attempts on a 500, naming the status and S3 error code', async () => {
    stub.respond(() => s3Error(500, 'InternalError'));
    await expect(
      directPutTo(stub.url)({ key: 'project/p1/FILE/f3', body: 'x', timeoutMs: 2_000 }),
    ).rejects.toThrow('S3 PUT answered 500 (InternalError)');
    expect(stub.requests).toHaveLength(3);
  });

  it("retries S3's transient 400 RequestTimeout", async () => {
    const answers = [s3Error(400, 'RequestTimeout'), ok()];
    stub.respond(() => answers.shift() ?? ok());
    await directPutTo(stub.url)({ key: 'project/p1/FILE/f6', body: 'x', timeoutMs: 2_000 });
    expect(stub.requests).toHaveLength(2);
  });

  it("signs a PUT refused for its time again with S3's clock, which the client then keeps", async () => {
    const hourAhead = 3600_000;
    stub.respond((request) => {
      const serviceNow = Date.now() + hourAhead;
      const date = new Date(serviceNow).toUTCString();
      const answer =
        Math.abs(signedAt(request) - serviceNow) > 300_000
          ? s3Error(403, 'RequestTimeTooSkewed')
          : ok();
      return { ...answer, headers: { ...answer.headers, date } };
    });
    const client = new S3Client({
      region: 'eu-west-1',
      endpoint: stub.url,
      forcePathStyle: true,
      credentials,
    });
    const put = createS3DirectPut({
      client,
      bucket: 'logs-bucket',
      region: 'eu-west-1',
      endpoint: stub.url,
      maxAttempts: 3,
      connectionTimeoutMs: 1_000,
    });
    await put({ key: 'project/p1/FILE/f9', body: 'x', timeoutMs: 2_000 });
    expect(stub.requests).toHaveLength(2);
    const offset = (client.config as unknown as { systemClockOffset: number }).systemClockOffset;
    expect(Math.abs(offset - hourAhead)).toBeLessThan(60_000);
    await put({ key: 'project/p1/FILE/f10', body: 'x', timeoutMs: 2_000 });
    expect(stub.requests).toHaveLength(3);
  });

  it('does not retry a refusal such as 403', async () => {
    stub.respond(() => s3Error(403, 'AccessDenied'));
    await expect(
      directPutTo(stub.url)({ key: 'project/p1/FILE/f4', body: 'x', timeoutMs: 2_000 }),
    ).rejects.toThrow('S3 PUT answered 403 (AccessDenied)');
    expect(stub.requests).toHaveLength(1);
  });

  it('tags small objects through it, and large ones through the SDK, with their KIND', async () => {
    const store = createS3FileStore({
      bucket: 'logs-bucket',
      region: 'eu-west-1',
      endpoint: stub.url,
      credentials,
    });
    await store.put('project/p1/RUN_LOG/r1', '{"small":true}');
    await store.put('project/p1/FILE/big', new Uint8Array(1024 * 1024));

    // The SDK marks its requests with an invocation id; the direct PUT sends no such header.
    const seen = stub.requests.map((request) => ({
      tagging: request.headers['x-amz-tagging'],
      viaSdk: request.headers['amz-sdk-invocation-id'] !== undefined,
    }));
    expect(seen).toEqual([
      { tagging: 'sluice-kind=RUN_LOG', viaSdk: false },
      { tagging: 'sluice-kind=FILE', viaSdk: true },
    ]);
  });
});

describe('S3 direct PUT to an IPv6 endpoint', () => {
  it('connects to the bare address and signs the bracketed host', async () => {
    const v6 = await startHttpStub(ok, { host: '::1' });
    try {
      await directPutTo(v6.url)({ key: 'project/p1/FILE/v6', body: 'x', timeoutMs: 2_000 });
      const [request] = v6.requests;
      expect(request?.headers.host).toBe(new URL(v6.url).host);
      expect(
        sigV4Problem(request as NonNullable<typeof request>, credentials.secretAccessKey),
      ).toBe(null);
    } finally {
      await v6.close();
    }
  });
});

describe('S3 direct PUT when S3 accepts connections but never answers', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(() => silent.close());

  it('gives up after three bounded attempts instead of hanging', async () => {
    const started = Date.now();
    await expect(
      directPutTo(`http://127.0.0.1:${silent.port}`)({
        key: 'project/p1/FILE/f5',
        body: 'x',
        timeoutMs: 300,
      }),
    ).rejects.toThrow('S3 PUT timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(silent.accepted()).toBe(3);
  });
});
