import { z } from 'zod';
import { MalformedRunMessageError } from './malformed-run-message-error';
import type { RunJob } from './run-queue';

/**
 * SQS takes up to 256 KiB per message; the early-start copy rides along only while the body
 * stays well under that, and a message with just the run id always fits.
 */
export const MAX_RUN_MESSAGE_BYTES = 192 * 1024;

/**
 * Ids go to PostgreSQL as text, which refuses U+0000: a body with one (valid JSON, the NUL
 * escaped) would fail every attempt to take its run and be received forever.
 */
const storable = (text: string) => !text.includes('\u0000');

const runMessage = z.object({
  runId: z.string().min(1).max(200).refine(storable),
  replyTo: z.string().max(200).refine(storable).nullable(),
  enqueuedAt: z.number().optional(),
  start: z
    .object({
      flowVersionId: z.string().min(1).max(200).refine(storable),
      trigger: z.unknown(),
      projectId: z.string().min(1).max(200).refine(storable).optional(),
    })
    .optional(),
});

/**
 * SQS refuses bodies with U+FFFE or U+FFFF, which JSON.stringify leaves as they are. They can
 * only sit inside JSON strings, where the escaped form means the same.
 */
const sqsSafe = (json: string) =>
  json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** The message body for `job`: with its early-start copy when that fits, else the ids alone. */
export function encodeRunMessage(job: RunJob): string {
  const full = sqsSafe(JSON.stringify(job));
  if (job.start === undefined || Buffer.byteLength(full) <= MAX_RUN_MESSAGE_BYTES) return full;
  const { start: _dropped, ...idsOnly } = job;
  return JSON.stringify(idsOnly);
}

/** The job in a message body; throws MalformedRunMessageError for anything Sluice did not write. */
export function decodeRunMessage(body: string | undefined): RunJob {
  if (body === undefined) throw new MalformedRunMessageError('empty body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedRunMessageError('body is not JSON');
  }
  const result = runMessage.safeParse(parsed);
  if (!result.success) throw new MalformedRunMessageError('body is not a run job');
  const { start, enqueuedAt, ...ids } = result.data;
  return {
    ...ids,
    ...(enqueuedAt === undefined ? {} : { enqueuedAt }),
    ...(start === undefined ? {} : { start }),
  };
}
