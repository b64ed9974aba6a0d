import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type FileStore,
  InvalidStorageKeyError,
  ObjectNotFoundError,
  storageKey,
} from '../../../runtime/storage';

export interface StoreUnderTest {
  store: FileStore;
  close(): Promise<void>;
}

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

function freshKey(kind: 'FILE' | 'RUN_LOG' = 'FILE'): string {
  return storageKey(`p-${randomUUID()}`, kind, `obj-${randomUUID()}.bin`);
}

/** Signs while the clock reads an hour ago, so the URL is already expired now. */
async function signAnHourAgo(sign: () => Promise<string>): Promise<string> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() - 3_600_000);
  try {
    return await sign();
  } finally {
    vi.useRealTimers();
  }
}

/**
 * The behaviours every FileStore driver promises. Signed URLs are fetched over
 * real HTTP, so the setup must serve them (s3rver, or the app's local routes).
 */
export function describeFileStoreContract(name: string, start: () => Promise<StoreUnderTest>) {
  describe(`${name} FileStore contract`, () => {
    let subject: StoreUnderTest;
    let store: FileStore;

    beforeAll(async () => {
      subject = await start();
      store = subject.store;
    });
    afterAll(() => subject?.close());

    it('returns the exact bytes it stored, binary or text', async () => {
      const binaryKey = freshKey();
      const textKey = freshKey();
      await store.put(binaryKey, ALL_BYTES);
      await store.put(textKey, 'héllo ✓');

      expect(await store.get(binaryKey)).toEqual(ALL_BYTES);
      expect(Buffer.from(await store.get(textKey)).toString('utf8')).toBe('héllo ✓');
    });

    it('replaces an object put twice under the same key', async () => {
      const key = freshKey();
      await store.put(key, 'first version');
      await store.put(key, 'second');

      expect(Buffer.from(await store.get(key)).toString()).toBe('second');
      expect((await store.head(key))?.size).toBe(6);
    });

    it('heads an object with its size and content type, and a missing one as null', async () => {
      const key = freshKey('RUN_LOG');
      await store.put(key, '{"lines":[]}', { contentType: 'application/json' });

      expect(await store.head(key)).toEqual({ size: 12, contentType: 'application/json' });
      expect(await store.head(freshKey())).toBeNull();
    });

    it('throws ObjectNotFoundError when getting a missing key', async () => {
      await expect(store.get(freshKey())).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('deletes the given keys, ignoring ones that do not exist', async () => {
      const kept = freshKey();
      const doomed = [freshKey(), freshKey()];
      await Promise.all([kept, ...doomed].map((key) => store.put(key, 'x')));

      await store.deleteMany([...doomed, freshKey()]);

      expect(await store.head(doomed[0] as string)).toBeNull();
      expect(await store.head(doomed[1] as string)).toBeNull();
      expect(await store.head(kept)).not.toBeNull();
    });

    it('refuses keys that would leave the project prefix, in every method', async () => {
      const bad = ['project/p/FILE/../../etc/passwd', '../project/p/FILE/x', 'project/p/OTHER/x'];
      for (const key of bad) {
        await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(store.deleteMany([key])).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(store.signedGetUrl(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(store.signedPutUrl(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
    });

    it('serves a signed GET URL to plain fetch, with the download name when asked', async () => {
      const key = freshKey();
      await store.put(key, ALL_BYTES);

      const res = await fetch(await store.signedGetUrl(key, { downloadName: 'report 1.bin' }));

      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(ALL_BYTES);
      expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''report%201.bin");
    });

    it('serves a signed GET with the content type it was signed for, not the stored one', async () => {
      const key = freshKey();
      await store.put(key, '<script>alert(1)</script>', { contentType: 'text/html' });

      const url = await store.signedGetUrl(key, {
        downloadName: 'page.html',
        contentType: 'application/octet-stream',
      });
      const res = await fetch(url);

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    });

    it('accepts an upload to a signed PUT URL from plain fetch', async () => {
      const key = freshKey();

      const res = await fetch(await store.signedPutUrl(key), { method: 'PUT', body: ALL_BYTES });

      expect(res.status).toBe(200);
      expect(await store.get(key)).toEqual(ALL_BYTES);
    });

    it('stores the content type a signed PUT URL was made for', async () => {
      const key = freshKey();
      const url = await store.signedPutUrl(key, { contentType: 'text/csv' });

      const res = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'text/csv' },
        body: 'a,b\n1,2\n',
      });

      expect(res.status).toBe(200);
      expect(await store.head(key)).toEqual({ size: 8, contentType: 'text/csv' });
    });

    it('refuses an expired signed GET URL with 403', async () => {
      const key = freshKey();
      await store.put(key, 'secret');
      const url = await signAnHourAgo(() => store.signedGetUrl(key, { ttlSeconds: 60 }));

      const res = await fetch(url);

      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/expired/i);
    });

    it('refuses an expired signed PUT URL with 403 and stores nothing', async () => {
      const key = freshKey();
      const url = await signAnHourAgo(() => store.signedPutUrl(key, { ttlSeconds: 60 }));

      const res = await fetch(url, { method: 'PUT', body: 'late' });

      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/expired/i);
      expect(await store.head(key)).toBeNull();
    });

    it('refuses a signed URL lifetime outside 1 s to 7 days', async () => {
      const key = freshKey();
      await expect(store.signedGetUrl(key, { ttlSeconds: 0 })).rejects.toThrow(/ttlSeconds/);
      await expect(store.signedPutUrl(key, { ttlSeconds: 8 * 86_400 })).rejects.toThrow(
        /ttlSeconds/,
      );
    });

    it('answers ping when the backing store is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
