import { randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { DEFAULT_SIGNED_URL_TTL_S, MIN_SIGNING_SECRET_LENGTH } from '../limits';
import { type FileStore, inBatches, type StoredObjectInfo } from './file-store';
import { parseStorageKey } from './keys';
import {
  buildLocalSignedUrl,
  type LocalUrlCheck,
  type LocalUrlClaims,
  verifyLocalSignedUrl,
} from './local-signed-url';
import { ObjectNotFoundError } from './object-not-found-error';
import { resolveSignedUrlTtl } from './signed-url-ttl';
import { UploadTooLargeError } from './upload-too-large-error';

interface LocalFileStoreOptions {
  /** Created on first write. */
  dir: string;
  /** Where the app that mounts createLocalStorageRoutes is reachable, e.g. http://localhost:3000. */
  publicBaseUrl: string;
  /** HMAC key for signed URLs; at least 32 characters. */
  signingSecret: string;
  /** @default DEFAULT_SIGNED_URL_TTL_S (900) */
  signedUrlTtlSeconds?: number;
}

interface OpenedObject extends StoredObjectInfo {
  body: ReadableStream<Uint8Array>;
}

/** The local driver, plus what its HTTP routes need. */
export interface LocalFileStore extends FileStore {
  verifySignedUrl(claims: LocalUrlClaims, signatureHex: string): LocalUrlCheck;
  /** null when nothing is stored under the key. */
  openRead(key: string): Promise<OpenedObject | null>;
  /** Throws UploadTooLargeError, storing nothing, once the body passes maxBytes. */
  putStream(
    key: string,
    body: ReadableStream<Uint8Array> | null,
    opts: { contentType?: string; maxBytes: number },
  ): Promise<void>;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * Layout: `objects/<key>` holds the bytes, `meta/<key>.json` the content type
 * (two trees, so no object id can collide with a metadata file), and `tmp/`
 * the partial writes that are renamed into place, so readers never see half a file.
 */
export function createLocalFileStore(opts: LocalFileStoreOptions): LocalFileStore {
  if (opts.signingSecret.length < MIN_SIGNING_SECRET_LENGTH) {
    throw new Error(
      `signingSecret must be at least ${MIN_SIGNING_SECRET_LENGTH} characters (got ${opts.signingSecret.length})`,
    );
  }
  const root = resolve(opts.dir);
  const objectsDir = join(root, 'objects');
  const metaDir = join(root, 'meta');
  const tmpDir = join(root, 'tmp');
  const { publicBaseUrl, signingSecret } = opts;
  const defaultTtl = opts.signedUrlTtlSeconds ?? DEFAULT_SIGNED_URL_TTL_S;
  resolveSignedUrlTtl(defaultTtl, defaultTtl);

  function pathsOf(key: string): { object: string; meta: string } {
    const { projectId, kind, id } = parseStorageKey(key);
    const object = join(objectsDir, 'project', projectId, kind, id);
    // Key validation already rules out traversal; this keeps it true if the rules change.
    if (!object.startsWith(objectsDir + sep)) throw new Error(`storage key escapes ${root}`);
    return { object, meta: join(metaDir, 'project', projectId, kind, `${id}.json`) };
  }

  async function commit(tmp: string, key: string, contentType: string | undefined): Promise<void> {
    const paths = pathsOf(key);
    await mkdir(dirname(paths.meta), { recursive: true });
    await writeFile(paths.meta, JSON.stringify({ contentType }));
    await mkdir(dirname(paths.object), { recursive: true });
    await rename(tmp, paths.object);
  }

  async function readContentType(metaPath: string): Promise<string | undefined> {
    try {
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { contentType?: string };
      return meta.contentType;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  function nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
  }

  return {
    async put(key, body, putOpts) {
      pathsOf(key);
      await mkdir(tmpDir, { recursive: true });
      const tmp = join(tmpDir, randomUUID());
      try {
        await writeFile(tmp, body);
        await commit(tmp, key, putOpts?.contentType);
      } finally {
        await rm(tmp, { force: true });
      }
    },

    async putStream(key, body, { contentType, maxBytes }) {
      pathsOf(key);
      await mkdir(tmpDir, { recursive: true });
      const tmp = join(tmpDir, randomUUID());
      let received = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          if (received > maxBytes) done(new UploadTooLargeError(maxBytes));
          else done(null, chunk);
        },
      });
      const source = body
        ? Readable.fromWeb(body as NodeReadableStream<Uint8Array>)
        : Readable.from([]);
      try {
        await pipeline(source, limit, createWriteStream(tmp));
        await commit(tmp, key, contentType);
      } finally {
        await rm(tmp, { force: true });
      }
    },

    async get(key) {
      try {
        return new Uint8Array(await readFile(pathsOf(key).object));
      } catch (error) {
        if (isMissing(error)) throw new ObjectNotFoundError(key);
        throw error;
      }
    },

    async head(key) {
      const paths = pathsOf(key);
      try {
        const { size } = await stat(paths.object);
        return { size, contentType: await readContentType(paths.meta) };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async openRead(key) {
      const paths = pathsOf(key);
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(paths.object, 'r');
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      try {
        // Size from the open descriptor, so it matches the bytes streamed even if
        // the object is replaced meanwhile.
        const { size } = await handle.stat();
        const contentType = await readContentType(paths.meta);
        const stream = handle.createReadStream();
        return { size, contentType, body: Readable.toWeb(stream) as ReadableStream<Uint8Array> };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async deleteMany(keys) {
      const all = [...new Set(keys)].map(pathsOf);
      for (const batch of inBatches(all)) {
        await Promise.all(
          batch.flatMap((paths) => [
            rm(paths.object, { force: true }),
            rm(paths.meta, { force: true }),
          ]),
        );
      }
    },

    async signedGetUrl(key, urlOpts) {
      pathsOf(key);
      const ttl = resolveSignedUrlTtl(urlOpts?.ttlSeconds, defaultTtl);
      return buildLocalSignedUrl(publicBaseUrl, signingSecret, {
        method: 'GET',
        key,
        expiresAt: nowSeconds() + ttl,
        downloadName: urlOpts?.downloadName,
        contentType: urlOpts?.contentType,
      });
    },

    async signedPutUrl(key, urlOpts) {
      pathsOf(key);
      const ttl = resolveSignedUrlTtl(urlOpts?.ttlSeconds, defaultTtl);
      return buildLocalSignedUrl(publicBaseUrl, signingSecret, {
        method: 'PUT',
        key,
        expiresAt: nowSeconds() + ttl,
        contentType: urlOpts?.contentType,
      });
    },

    verifySignedUrl(claims, signatureHex) {
      return verifyLocalSignedUrl(signingSecret, claims, signatureHex, nowSeconds());
    },

    async ping() {
      await mkdir(root, { recursive: true });
      await access(root, constants.R_OK | constants.W_OK);
    },
  };
}
