import type { Database } from '../db/client';
import type { RunRow } from '../db/run-store';
import { urlSigningKey } from '../db/url-signing-key-store';
import type { FileStore } from '../storage';
import {
  type LocalUrlCheck,
  type LocalUrlClaims,
  signLocalUrlClaims,
  verifyLocalSignedUrl,
} from '../storage/local-signed-url';

export const RUN_LOG_PATH = '/v1/run-logs/';

/**
 * Signed URLs for the run logs kept in their run row: like a pre-signed S3 URL, a client
 * fetches one with no API key until it expires, so `logUrl` reads the same wherever the log is.
 */
export interface RunLogUrls {
  url(runId: string): Promise<string>;
  verify(runId: string, expiresAt: number, signatureHex: string): Promise<LocalUrlCheck>;
}

const claimsFor = (runId: string, expiresAt: number): LocalUrlClaims => ({
  method: 'GET',
  key: `run-log/${runId}`,
  expiresAt,
  contentType: 'application/json',
});

export function createRunLogUrls(
  db: Database,
  opts: { publicUrl: string; ttlSeconds: number },
): RunLogUrls {
  let secret: Promise<string> | undefined;
  const signingSecret = () => {
    secret ??= urlSigningKey(db, 'run-log').catch((error: unknown) => {
      secret = undefined; // asked again next time, not cached broken
      throw error;
    });
    return secret;
  };
  const base = opts.publicUrl.replace(/\/+$/, '');
  return {
    async url(runId) {
      const expiresAt = Math.floor(Date.now() / 1000) + opts.ttlSeconds;
      const sig = signLocalUrlClaims(await signingSecret(), claimsFor(runId, expiresAt));
      const query = new URLSearchParams({ expires: String(expiresAt), sig });
      return `${base}${RUN_LOG_PATH}${encodeURIComponent(runId)}?${query}`;
    },
    async verify(runId, expiresAt, signatureHex) {
      const claims = claimsFor(runId, expiresAt);
      return verifyLocalSignedUrl(await signingSecret(), claims, signatureHex, Date.now() / 1000);
    },
  };
}

/** A run's `logUrl`: signed by the APP for a log in the row, pre-signed for one in storage. */
export async function logUrlOf(
  run: Pick<RunRow, 'id' | 'hasInlineLog' | 'logKey'>,
  urls: RunLogUrls,
  store: Pick<FileStore, 'signedGetUrl'>,
): Promise<string | null> {
  if (run.hasInlineLog) return urls.url(run.id);
  return run.logKey === null ? null : store.signedGetUrl(run.logKey);
}
