import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../runtime/api/errors';
import { createLocalStorageRoutes } from '../../../runtime/api/routes/local-storage';
import { createLocalFileStore, type LocalFileStore, storageKey } from '../../../runtime/storage';
import { buildLocalSignedUrl } from '../../../runtime/storage/local-signed-url';

const SECRET = 'routes-signing-secret-32-chars-ok';
const BASE = 'http://sluice.test';
const MAX_UPLOAD_BYTES = 1024;

let root: string;
let store: LocalFileStore;
let app: Hono;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-routes-'));
  // Something a traversal would reach: a sibling of the store's directory.
  await writeFile(join(root, 'outside.txt'), 'must never be served');
  store = createLocalFileStore({
    dir: join(root, 'store'),
    publicBaseUrl: BASE,
    signingSecret: SECRET,
  });
  app = new Hono();
  app.route('/', createLocalStorageRoutes({ store, maxUploadBytes: MAX_UPLOAD_BYTES }));
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
    return c.json({ error: { code: 'internal', message: String(err) } }, 500);
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

let counter = 0;
function freshKey(): string {
  counter += 1;
  return storageKey('p1', 'FILE', `object-${counter}`);
}

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { error: { code: string } };
  return { status: res.status, code: body.error.code };
}

describe('GET /v1/storage/*', () => {
  it('streams the object with its stored content type and safe headers', async () => {
    const key = freshKey();
    await store.put(key, '<svg onload="alert(1)"/>', { contentType: 'image/svg+xml' });

    const res = await app.request(await store.signedGetUrl(key));

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<svg onload="alert(1)"/>');
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
  });

  it.each(['GET', 'HEAD'])(
    'answers %s 503 storage_unavailable when the disk fails the read, not a 500',
    async (method) => {
      const key = freshKey();
      await store.put(key, 'kept', { contentType: 'text/plain' });
      // The object's metadata made unreadable (EISDIR), as a failing disk or volume would.
      const meta = join(root, 'store', 'meta', `${key}.json`);
      await rm(meta);
      await mkdir(meta);

      const res = await app.request(await store.signedGetUrl(key), { method });

      expect(res.status).toBe(503);
      if (method === 'GET')
        expect(await errorOf(res)).toMatchObject({ code: 'storage_unavailable' });
    },
  );

  it('serves an object stored without a type as application/octet-stream', async () => {
    const key = freshKey();
    await store.put(key, new Uint8Array([1, 2, 3]));

    const res = await app.request(await store.signedGetUrl(key));

    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe('3');
  });

  it('answers HEAD on a GET URL with the headers and no body', async () => {
    const key = freshKey();
    await store.put(key, 'twelve bytes');

    const res = await app.request(await store.signedGetUrl(key), { method: 'HEAD' });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('12');
    expect(await res.text()).toBe('');
  });

  it('answers 404 for a validly signed key with nothing stored', async () => {
    const res = await app.request(await store.signedGetUrl(freshKey()));

    expect(await errorOf(res)).toEqual({ status: 404, code: 'not_found' });
  });

  describe('when the URL was tampered with', () => {
    let key: string;
    let url: URL;

    beforeAll(async () => {
      key = freshKey();
      await store.put(key, 'private');
      url = new URL(await store.signedGetUrl(key, { downloadName: 'a.txt' }));
    });

    function changed(edit: (u: URL) => void): string {
      const copy = new URL(url);
      edit(copy);
      return copy.toString();
    }

    it('still serves the untouched URL', async () => {
      expect((await app.request(url.toString())).status).toBe(200);
    });

    it.each([
      ['the key', (u: URL) => (u.pathname = u.pathname.replace(/object-\d+$/, 'object-999'))],
      [
        'the expiry',
        (u: URL) =>
          u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600)),
      ],
      ['the download name', (u: URL) => u.searchParams.set('filename', 'evil.html')],
      [
        'the signature',
        (u: URL) =>
          u.searchParams.set(
            'sig',
            (u.searchParams.get('sig') as string).replace(/^./, (c) => (c === '0' ? '1' : '0')),
          ),
      ],
      ['no signature', (u: URL) => u.searchParams.delete('sig')],
      ['no expiry', (u: URL) => u.searchParams.delete('expires')],
      ['a parameter the signature does not cover', (u: URL) => u.searchParams.set('x', '1')],
      [
        'a second signature',
        (u: URL) => u.searchParams.append('sig', u.searchParams.get('sig') as string),
      ],
      ['a second download name', (u: URL) => u.searchParams.append('filename', 'evil.html')],
    ])('answers 403 invalid_signature for %s', async (_what, edit) => {
      const res = await app.request(changed(edit));

      expect(await errorOf(res)).toEqual({ status: 403, code: 'invalid_signature' });
    });

    it('answers 403 invalid_signature when a GET URL is used to PUT', async () => {
      const res = await app.request(url.toString(), { method: 'PUT', body: 'overwrite' });

      expect(await errorOf(res)).toEqual({ status: 403, code: 'invalid_signature' });
      expect(Buffer.from(await store.get(key)).toString()).toBe('private');
    });

    it('answers 403 invalid_signature for a URL signed with another secret', async () => {
      const other = createLocalFileStore({
        dir: join(root, 'other'),
        publicBaseUrl: BASE,
        signingSecret: 'a-different-secret-of-32-characters',
      });

      const res = await app.request(await other.signedGetUrl(key));

      expect(await errorOf(res)).toEqual({ status: 403, code: 'invalid_signature' });
    });
  });

  it('answers 403 url_expired once the URL has expired', async () => {
    const key = freshKey();
    await store.put(key, 'old');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 120_000);
    const url = await store.signedGetUrl(key, { ttlSeconds: 60 }).finally(() => vi.useRealTimers());

    const res = await app.request(url);

    expect(await errorOf(res)).toEqual({ status: 403, code: 'url_expired' });
  });

  describe('when the path tries to leave the storage directory', () => {
    it.each([
      '/v1/storage/project/p1/FILE/..%2F..%2F..%2Foutside.txt',
      '/v1/storage/project/..%2F..%2F..%2Foutside.txt/FILE/x',
      '/v1/storage/..%2F..%2Foutside.txt',
      '/v1/storage/project/p1/FILE/%2e%2e%2F%2e%2e%2F%2e%2e%2Foutside.txt',
      '/v1/storage/project/p1/FILE/%E0%A4%A',
    ])('answers 400 for %s even when it carries a valid signature', async (path) => {
      // Signed with the real secret, as if the key had been signed by mistake.
      const raw = decodeURIComponent(path.replace('%E0%A4%A', 'x')).slice('/v1/storage/'.length);
      const signed = new URL(
        buildLocalSignedUrl(BASE, SECRET, {
          method: 'GET',
          key: raw,
          expiresAt: Math.floor(Date.now() / 1000) + 60,
        }),
      );

      const res = await app.request(`${BASE}${path}${signed.search}`);

      expect(await errorOf(res)).toEqual({ status: 400, code: 'invalid_storage_key' });
    });

    it('never resolves dot segments into another directory', async () => {
      // URL parsing removes the dot segments before routing: nothing under /v1/storage matches.
      const res = await app.request(`${BASE}/v1/storage/project/p1/FILE/../../../../outside.txt`);

      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('must never be served');
    });
  });
});

describe('PUT /v1/storage/*', () => {
  it('stores the body under the signed key with the type it was sent with', async () => {
    const key = freshKey();

    const res = await app.request(await store.signedPutUrl(key), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
    });

    expect(res.status).toBe(200);
    expect(await store.head(key)).toEqual({ size: 11, contentType: 'application/json' });
  });

  it('answers 403 when the upload sends another type than the URL was signed for', async () => {
    const key = freshKey();

    const res = await app.request(await store.signedPutUrl(key, { contentType: 'text/csv' }), {
      method: 'PUT',
      headers: { 'content-type': 'text/html' },
      body: '<script>',
    });

    expect(await errorOf(res)).toEqual({ status: 403, code: 'invalid_signature' });
    expect(await store.head(key)).toBeNull();
  });

  it('answers 403 invalid_signature when a PUT URL is used to GET', async () => {
    const key = freshKey();
    await store.put(key, 'x');

    const res = await app.request(await store.signedPutUrl(key));

    expect(await errorOf(res)).toEqual({ status: 403, code: 'invalid_signature' });
  });

  it('answers 403 url_expired for an expired PUT URL and stores nothing', async () => {
    const key = freshKey();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 120_000);
    const url = await store.signedPutUrl(key, { ttlSeconds: 60 }).finally(() => vi.useRealTimers());

    const res = await app.request(url, { method: 'PUT', body: 'late' });

    expect(await errorOf(res)).toEqual({ status: 403, code: 'url_expired' });
    expect(await store.head(key)).toBeNull();
  });

  it('answers 413 from the declared length, before reading the body', async () => {
    const key = freshKey();
    const unreadable = new ReadableStream<Uint8Array>({
      pull() {
        throw new Error('the body must not be read');
      },
    });

    const res = await app.request(await store.signedPutUrl(key), {
      method: 'PUT',
      headers: { 'content-length': String(MAX_UPLOAD_BYTES + 1) },
      body: unreadable,
      duplex: 'half',
    } as RequestInit);

    expect(await errorOf(res)).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await store.head(key)).toBeNull();
  });

  it('answers 413 for a streamed body that grows past the limit without declaring a length', async () => {
    const key = freshKey();
    const chunks = [new Uint8Array(600), new Uint8Array(600)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });

    const res = await app.request(await store.signedPutUrl(key), {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);

    expect(await errorOf(res)).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await store.head(key)).toBeNull();
  });

  it('accepts a body of exactly the limit', async () => {
    const key = freshKey();

    const res = await app.request(await store.signedPutUrl(key), {
      method: 'PUT',
      body: new Uint8Array(MAX_UPLOAD_BYTES),
    });

    expect(res.status).toBe(200);
    expect((await store.head(key))?.size).toBe(MAX_UPLOAD_BYTES);
  });
});
