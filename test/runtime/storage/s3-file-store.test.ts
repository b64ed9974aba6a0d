import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageKey } from '../../../runtime/storage';
import { createS3FileStore, type S3FileStore } from '../../../runtime/storage/s3-file-store';
import { type RunningS3rver, startS3rver } from '../../support/s3rver';
import { startSilentServer } from '../../support/silent-server';
import { describeFileStoreContract } from './file-store-contract';

function storeOn(s3: RunningS3rver, overrides: { bucket?: string } = {}): S3FileStore {
  return createS3FileStore({
    bucket: overrides.bucket ?? s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: s3.credentials,
  });
}

describeFileStoreContract('s3', async () => {
  const s3 = await startS3rver();
  return { store: storeOn(s3), close: s3.close };
});

describe('s3 FileStore', () => {
  let s3: RunningS3rver;
  let store: S3FileStore;

  beforeAll(async () => {
    s3 = await startS3rver();
    store = storeOn(s3);
  });
  afterAll(() => s3?.close());

  it('deletes 250 keys in DeleteObjects requests of at most 100 keys', async () => {
    const projectId = `p-${randomUUID()}`;
    const keys = Array.from({ length: 250 }, (_, i) => storageKey(projectId, 'STEP_FILE', `s${i}`));
    await Promise.all(keys.map((key) => store.put(key, 'x')));
    const batchSizes: number[] = [];
    // Once per command, before retries: s3rver sometimes answers 500 while it prunes
    // the emptied directories, and the SDK resends the same batch.
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand') {
          const input = args.input as { Delete: { Objects: unknown[] } };
          batchSizes.push(input.Delete.Objects.length);
        }
        return next(args);
      },
      { step: 'initialize', name: 'countDeleteBatches' },
    );

    await store.deleteMany(keys);

    expect(batchSizes).toEqual([100, 100, 50]);
    const left = await Promise.all(keys.map((key) => store.head(key)));
    expect(left.filter((info) => info !== null)).toHaveLength(0);
  });

  it('signs path-style URLs against a custom endpoint', async () => {
    const url = await store.signedGetUrl(storageKey('p1', 'FILE', 'a.txt'));

    expect(url.startsWith(`${s3.endpoint}/${s3.bucket}/project/p1/FILE/a.txt?`)).toBe(true);
  });

  it('signs PUT URLs for the default 900 s without a checksum of an empty body', async () => {
    const url = new URL(await store.signedPutUrl(storageKey('p1', 'FILE', 'upload.bin')));

    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    const params = [...url.searchParams.keys()].map((name) => name.toLowerCase());
    expect(params.filter((name) => name.includes('checksum'))).toEqual([]);
  });

  it('fails ping when the bucket does not exist', async () => {
    await expect(storeOn(s3, { bucket: 'no-such-bucket' }).ping()).rejects.toThrow();
  });

  describe('when S3 accepts connections but never answers', () => {
    let silent: Awaited<ReturnType<typeof startSilentServer>>;
    beforeAll(async () => {
      silent = await startSilentServer();
    });
    afterAll(() => silent.close());

    it('gives up after the bounded attempts instead of hanging', async () => {
      const hung = createS3FileStore({
        bucket: 'b',
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${silent.port}`,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        requestTimeoutMs: 300,
      });
      const started = Date.now();

      await expect(hung.ping()).rejects.toThrow();

      expect(Date.now() - started).toBeLessThan(5_000);
      expect(silent.accepted()).toBe(3);
    });
  });
});
