import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { attachmentDisposition } from '../../storage/content-disposition';
import type { StoredObjectInfo } from '../../storage/file-store';
import { InvalidStorageKeyError } from '../../storage/invalid-storage-key-error';
import { parseStorageKey } from '../../storage/keys';
import type { LocalFileStore } from '../../storage/local-file-store';
import { LOCAL_STORAGE_PATH, type SignedUrlMethod } from '../../storage/local-signed-url';
import { UploadTooLargeError } from '../../storage/upload-too-large-error';
import { ApiError, notFound } from '../errors';
import { refuseUnlessValid, signedQueryOf, signedUrlQuery } from '../signed-url-checks';
import { orUnavailable } from '../unavailable';

interface LocalStorageRoutesOptions {
  store: LocalFileStore;
  /** Uploads above this get 413. */
  maxUploadBytes: number;
}

const localUrlQuery = signedUrlQuery.extend({
  filename: z.string().optional(),
  type: z.string().optional(),
});

// The stored bytes are served from the app's own origin, so a stored HTML or SVG
// file must never run as a page there.
const SAFE_DOWNLOAD_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, no-store',
};

function downloadHeaders(
  info: StoredObjectInfo,
  {
    downloadName,
    contentType,
  }: { downloadName?: string | undefined; contentType?: string | undefined },
) {
  const headers: Record<string, string> = {
    ...SAFE_DOWNLOAD_HEADERS,
    'Content-Type': contentType ?? info.contentType ?? 'application/octet-stream',
    'Content-Length': String(info.size),
  };
  if (downloadName !== undefined)
    headers['Content-Disposition'] = attachmentDisposition(downloadName);
  return headers;
}

/** The key from the raw path: Hono's decoded path would turn `%2F` into a separator. */
function keyFromPath(c: Context): string {
  const raw = new URL(c.req.url).pathname.slice(LOCAL_STORAGE_PATH.length);
  try {
    const key = raw.split('/').map(decodeURIComponent).join('/');
    parseStorageKey(key);
    return key;
  } catch (error) {
    if (error instanceof InvalidStorageKeyError || error instanceof URIError) {
      throw new ApiError(400, 'invalid_storage_key', 'the URL does not name a storage key');
    }
    throw error;
  }
}

function authorize(c: Context, store: LocalFileStore, method: SignedUrlMethod, key: string) {
  const { expires, sig, filename, type } = signedQueryOf(c, localUrlQuery);
  const claims = {
    method,
    key,
    expiresAt: Number(expires),
    downloadName: filename,
    contentType: type,
  };
  refuseUnlessValid(store.verifySignedUrl(claims, sig));
  return claims;
}

/**
 * Serves the local driver's signed URLs: GET streams an object, PUT stores one.
 * Mount with `app.route('/', createLocalStorageRoutes(...))`; errors are ApiErrors.
 */
export function createLocalStorageRoutes({
  store,
  maxUploadBytes,
}: LocalStorageRoutesOptions): Hono {
  const app = new Hono();

  app.get(`${LOCAL_STORAGE_PATH}*`, async function downloadStoredObject(c) {
    const key = keyFromPath(c);
    // HEAD is routed here too and is granted by a GET URL, as on S3.
    const served = authorize(c, store, 'GET', key);
    // Hono drops the body of a HEAD response unread, so HEAD must not open the file.
    // A disk that fails the read (a full or detached volume) is storage being down, not a bug.
    if (c.req.method === 'HEAD') {
      const info = await orUnavailable('storage', () => store.head(key));
      if (!info) throw notFound('stored object');
      return c.body(null, 200, downloadHeaders(info, served));
    }
    const object = await orUnavailable('storage', () => store.openRead(key));
    if (!object) throw notFound('stored object');
    return c.body(object.body, 200, downloadHeaders(object, served));
  });

  app.put(`${LOCAL_STORAGE_PATH}*`, async function uploadStoredObject(c) {
    const key = keyFromPath(c);
    const { contentType } = authorize(c, store, 'PUT', key);
    const sentType = c.req.header('content-type');
    // As on S3, a URL signed for one content type only accepts that type.
    if (contentType !== undefined && sentType !== contentType) {
      throw new ApiError(
        403,
        'invalid_signature',
        `the URL is signed for Content-Type ${contentType}`,
      );
    }
    const tooLarge = new ApiError(
      413,
      'payload_too_large',
      `upload is larger than ${maxUploadBytes} bytes`,
    );
    const declared = Number(c.req.header('content-length'));
    if (declared > maxUploadBytes) throw tooLarge;
    try {
      // The limit is also enforced while streaming: chunked bodies declare no length.
      await store.putStream(key, c.req.raw.body, {
        contentType: sentType,
        maxBytes: maxUploadBytes,
      });
    } catch (error) {
      if (error instanceof UploadTooLargeError) throw tooLarge;
      throw error;
    }
    return c.body(null, 200);
  });

  return app;
}
