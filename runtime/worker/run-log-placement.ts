import { storageKey } from '../storage';

/** Where a run's log is kept: in its row (`logBody`) or as an object in storage (`logKey`). */
export interface LogPlacement {
  logKey: string | null;
  logBody: string | null;
}

/** The run log document: the run's outcome and every step's input and output. */
export const logDocument = (runId: string, attempt: number, outcome: object) =>
  JSON.stringify({ runId, attempt, ...outcome });

/**
 * In the row when at most `inlineMaxBytes` (written with the outcome: no S3 PUT), else under
 * its storage key, stored after the reply.
 */
export function placeLog(
  inlineMaxBytes: number,
  projectId: string,
  runId: string,
  body: string,
): LogPlacement {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most logs are settled without counting.
  if (body.length * 3 <= inlineMaxBytes || Buffer.byteLength(body) <= inlineMaxBytes) {
    return { logKey: null, logBody: body };
  }
  return inStorage(projectId, runId);
}

/** The log's place in storage, whatever its size. */
export const inStorage = (projectId: string, runId: string): LogPlacement => ({
  logKey: storageKey(projectId, 'RUN_LOG', runId),
  logBody: null,
});
