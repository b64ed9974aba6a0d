/** What the store knows about an object without reading it. */
export interface StoredObjectInfo {
  size: number;
  contentType?: string;
}

/**
 * The storage port. Keys come from `storageKey`; every driver rejects any other
 * shape with InvalidStorageKeyError, so both drivers accept exactly the same keys.
 */
export interface FileStore {
  put(key: string, body: Uint8Array | string, opts?: { contentType?: string }): Promise<void>;
  /** Throws ObjectNotFoundError when nothing is stored under the key. */
  get(key: string): Promise<Uint8Array>;
  head(key: string): Promise<StoredObjectInfo | null>;
  /** Missing keys are not an error. Sent in batches of at most DELETE_BATCH_SIZE keys. */
  deleteMany(keys: string[]): Promise<void>;
  /**
   * A URL that downloads the object: as an attachment named `downloadName` when given, and
   * with `contentType` served instead of the stored type when given.
   */
  signedGetUrl(
    key: string,
    opts?: { ttlSeconds?: number; downloadName?: string; contentType?: string },
  ): Promise<string>;
  /** With `contentType`, the upload must send exactly that Content-Type. */
  signedPutUrl(key: string, opts?: { ttlSeconds?: number; contentType?: string }): Promise<string>;
  /** Cheap reachability check: HeadBucket for s3, a writable directory for local. */
  ping(): Promise<void>;
}

/** S3's DeleteObjects takes up to 1000 keys; 100 keeps each request small and quick to retry. */
const DELETE_BATCH_SIZE = 100;

export function inBatches<T>(items: readonly T[], size = DELETE_BATCH_SIZE): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
