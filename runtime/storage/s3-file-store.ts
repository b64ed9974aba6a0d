import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DEFAULT_SIGNED_URL_TTL_S, STORAGE_KIND_TAG } from '../limits';
import { attachmentDisposition } from './content-disposition';
import { type FileStore, inBatches } from './file-store';
import { parseStorageKey } from './keys';
import { ObjectNotFoundError } from './object-not-found-error';
import { createS3DirectPut } from './s3-direct-put';
import { resolveSignedUrlTtl } from './signed-url-ttl';

interface S3FileStoreOptions {
  bucket: string;
  region: string;
  /** Any S3-compatible endpoint; when set, requests are path-style. */
  endpoint?: string;
  /** Defaults to the SDK's chain (task role on ECS). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** @default DEFAULT_SIGNED_URL_TTL_S (900) */
  signedUrlTtlSeconds?: number;
  /** Per attempt; uploads get one more second per MiB. @default 10000 */
  requestTimeoutMs?: number;
}

/** The s3 driver, with its client exposed for instrumentation (SDK middleware). */
export interface S3FileStore extends FileStore {
  readonly client: S3Client;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 3;
const MiB = 1024 * 1024;
/**
 * Bodies below this skip the SDK's pipeline (see s3-direct-put); larger ones go through it,
 * with its `Expect: 100-continue`, so a refused upload does not send its whole body first.
 */
const DIRECT_PUT_MAX_BYTES = MiB;

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export function createS3FileStore(opts: S3FileStoreOptions): S3FileStore {
  const { bucket } = opts;
  const defaultTtl = opts.signedUrlTtlSeconds ?? DEFAULT_SIGNED_URL_TTL_S;
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  resolveSignedUrlTtl(defaultTtl, defaultTtl);

  const client = new S3Client({
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.endpoint !== undefined,
    credentials: opts.credentials,
    // A dead or slow S3 must fail the call, not hang a worker: every attempt is
    // bounded, and so is the number of attempts (about 3 x timeout in the worst case).
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: Math.min(requestTimeoutMs, 3_000),
      requestTimeout: requestTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
      // Covers a body that stops flowing after the headers arrived.
      socketTimeout: requestTimeoutMs,
    },
    // Since 3.729 the SDK bakes the CRC32 of the (empty) body into pre-signed PUT
    // URLs, so real uploads to them fail; S3-compatible stores also reject the
    // default checksums. Checksums are then sent only where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  const directPut = createS3DirectPut({
    client,
    bucket,
    region: opts.region,
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    maxAttempts: MAX_ATTEMPTS,
    connectionTimeoutMs: Math.min(requestTimeoutMs, 3_000),
  });

  return {
    client,

    async put(key, body, putOpts) {
      const { kind } = parseStorageKey(key);
      const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      // S3 lifecycle filters match key prefixes or tags; KIND sits mid-key, so tag it.
      const tagging = `${STORAGE_KIND_TAG}=${kind}`;
      if (bytes < DIRECT_PUT_MAX_BYTES) {
        await directPut({
          key,
          body,
          contentType: putOpts?.contentType,
          tagging,
          timeoutMs: requestTimeoutMs,
        });
        return;
      }
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: putOpts?.contentType,
          Tagging: tagging,
        }),
        { requestTimeout: requestTimeoutMs + Math.ceil((bytes / MiB) * 1000) },
      );
    },

    async get(key) {
      parseStorageKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!res.Body) throw new ObjectNotFoundError(key);
        return await res.Body.transformToByteArray();
      } catch (error) {
        if (isNotFound(error)) throw new ObjectNotFoundError(key);
        throw error;
      }
    },

    async head(key) {
      parseStorageKey(key);
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: res.ContentLength ?? 0, contentType: res.ContentType };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async deleteMany(keys) {
      const unique = [...new Set(keys)];
      for (const key of unique) parseStorageKey(key);
      // One batch at a time: deletes are cleanup, and must not crowd out the
      // reads and writes of running flows on the shared connection pool.
      for (const batch of inBatches(unique)) {
        const res = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = res.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new Error(
            `could not delete ${failed.length} of ${batch.length} objects; first: ${first?.Key} ${first?.Code} ${first?.Message}`,
          );
        }
      }
    },

    async signedGetUrl(key, urlOpts) {
      parseStorageKey(key);
      const expiresIn = resolveSignedUrlTtl(urlOpts?.ttlSeconds, defaultTtl);
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentDisposition:
          urlOpts?.downloadName === undefined
            ? undefined
            : attachmentDisposition(urlOpts.downloadName),
        ResponseContentType: urlOpts?.contentType,
      });
      return getSignedUrl(client, command, { expiresIn });
    },

    async signedPutUrl(key, urlOpts) {
      parseStorageKey(key);
      const expiresIn = resolveSignedUrlTtl(urlOpts?.ttlSeconds, defaultTtl);
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ContentType: urlOpts?.contentType,
      });
      return getSignedUrl(client, command, { expiresIn });
    },

    async ping() {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    },
  };
}
