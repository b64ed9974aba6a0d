import type { FileStore } from './file-store';

/**
 * A store whose driver is loaded on first use. The s3 driver brings the AWS SDK, the largest
 * part of the bundle: a process that has not touched storage yet (an idle worker, an app
 * before its first file or log URL) neither parses it nor keeps it in memory.
 */
export function lazyFileStore(load: () => Promise<FileStore>): FileStore {
  let loaded: Promise<FileStore> | null = null;
  const driver = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = null; // a failed load is tried again by the next call
      throw error;
    });
    return loaded;
  };
  return {
    put: async (key, body, opts) => (await driver()).put(key, body, opts),
    get: async (key) => (await driver()).get(key),
    head: async (key) => (await driver()).head(key),
    deleteMany: async (keys) => (await driver()).deleteMany(keys),
    signedGetUrl: async (key, opts) => (await driver()).signedGetUrl(key, opts),
    signedPutUrl: async (key, opts) => (await driver()).signedPutUrl(key, opts),
    ping: async () => (await driver()).ping(),
  };
}
