import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../runtime/api/errors';
import { createLocalStorageRoutes } from '../../../runtime/api/routes/local-storage';
import { createLocalFileStore, type LocalFileStore, storageKey } from '../../../runtime/storage';
import { describeFileStoreContract } from './file-store-contract';

const SECRET = 'local-signing-secret-of-32-chars!';

/** The routes behind the same error shape the main app answers with. */
function appFor(store: LocalFileStore, maxUploadBytes = 1024 * 1024): Hono {
  const app = new Hono();
  app.route('/', createLocalStorageRoutes({ store, maxUploadBytes }));
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
    return c.json({ error: { code: 'internal', message: String(err) } }, 500);
  });
  return app;
}

// Served over real HTTP, so the contract fetches local signed URLs exactly as it
// fetches pre-signed S3 ones.
describeFileStoreContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-local-store-'));
  let app: Hono | undefined;
  const server = serve({
    fetch: (req) => (app as Hono).fetch(req),
    hostname: '127.0.0.1',
    port: 0,
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const store = createLocalFileStore({
    dir,
    publicBaseUrl: `http://127.0.0.1:${port}/`,
    signingSecret: SECRET,
  });
  app = appFor(store);
  return {
    store,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('local FileStore', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-local-store-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a signing secret shorter than 32 characters', () => {
    expect(() =>
      createLocalFileStore({ dir, publicBaseUrl: 'http://x', signingSecret: 'short' }),
    ).toThrow('signingSecret must be at least 32 characters (got 5)');
  });

  it('signs URLs under the public base URL for the default 900 s', async () => {
    const store = createLocalFileStore({
      dir,
      publicBaseUrl: 'https://sluice.example.com/',
      signingSecret: SECRET,
    });
    const before = Math.floor(Date.now() / 1000);

    const url = new URL(await store.signedGetUrl(storageKey('p1', 'FILE', 'a b.txt')));

    expect(`${url.origin}${url.pathname}`).toBe(
      'https://sluice.example.com/v1/storage/project/p1/FILE/a%20b.txt',
    );
    expect(Number(url.searchParams.get('expires')) - before).toBeGreaterThanOrEqual(900);
    expect(Number(url.searchParams.get('expires')) - before).toBeLessThanOrEqual(901);
    expect(url.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves no partial file behind when a streamed upload goes over its limit', async () => {
    const store = createLocalFileStore({ dir, publicBaseUrl: 'http://x', signingSecret: SECRET });
    const key = storageKey('p1', 'FILE', 'too-big');
    const body = new Blob([new Uint8Array(10_000)]).stream();

    await expect(store.putStream(key, body, { maxBytes: 4096 })).rejects.toThrow(
      'upload is larger than 4096 bytes',
    );

    expect(await store.head(key)).toBeNull();
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('fails ping when the directory cannot be created', async () => {
    const aFile = join(dir, 'a-file');
    await writeFile(aFile, 'not a directory');
    const store = createLocalFileStore({
      dir: join(aFile, 'store'),
      publicBaseUrl: 'http://x',
      signingSecret: SECRET,
    });

    await expect(store.ping()).rejects.toThrow();
  });
});
