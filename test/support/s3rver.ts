import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningS3rver {
  /** http://127.0.0.1:<port>; use path-style requests (forcePathStyle). */
  endpoint: string;
  bucket: string;
  /** Credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** The paths of every file under the bucket, as s3rver stores them (each names its key). */
  objectKeys(): Promise<string[]>;
  /** Stops the server, dropping open connections, and removes its directory. Safe to call twice. */
  close(): Promise<void>;
}

// s3rver ships no type declarations; this is the part of its API used here.
interface S3rverInstance {
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** The environment that points a Sluice process's storage at `s3`. */
export function s3StorageEnv(s3: RunningS3rver): Record<string, string> {
  return {
    SLUICE_STORAGE: 's3',
    SLUICE_S3_BUCKET: s3.bucket,
    SLUICE_S3_ENDPOINT: s3.endpoint,
    SLUICE_S3_REGION: s3.region,
    SLUICE_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    SLUICE_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
}

const BUCKET = 'sluice-test';

/** An in-process S3 stand-in on a free loopback port, with one empty bucket. */
export async function startS3rver(): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    // Requests are path-style against an IP; no bucket is ever read from the Host.
    vhostBuckets: false,
    configureBuckets: [{ name: BUCKET }],
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = async () => {
    closing ??= (async () => {
      const stopped = server.close();
      // SDK clients keep connections alive; close() alone would wait for them.
      server.httpServer?.closeAllConnections();
      await stopped;
      await rm(directory, { recursive: true, force: true });
    })();
    return closing;
  };

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: BUCKET,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    objectKeys: async () => readdir(join(directory, BUCKET), { recursive: true }),
    close,
  };
}
