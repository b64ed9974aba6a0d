import { z } from 'zod';

/** The longest wait between attempts: a waiting step holds its worker (see the README). */
export const MAX_RETRY_DELAY_MS = 60_000;
const MAX_RETRY_ATTEMPTS = 10;

/**
 * `retry` on http and code steps: `attempts` counts every try, the first included. The wait
 * before try n+1 is `delayMs` (fixed) or `delayMs * 2^(n-1)` (exponential), at most `maxDelayMs`;
 * `jitter` spreads it uniformly over its upper half, so retrying runs do not move in step.
 */
export const retrySchema = z
  .strictObject({
    attempts: z.number().int().min(1).max(MAX_RETRY_ATTEMPTS),
    backoff: z.enum(['fixed', 'exponential']).default('exponential'),
    delayMs: z.number().int().min(0).max(MAX_RETRY_DELAY_MS).default(1000),
    maxDelayMs: z.number().int().min(0).max(MAX_RETRY_DELAY_MS).default(MAX_RETRY_DELAY_MS),
    jitter: z.boolean().default(false),
  })
  .refine((retry) => retry.maxDelayMs >= retry.delayMs, {
    path: ['maxDelayMs'],
    message: 'maxDelayMs must be at least delayMs',
  });

export type RetryPolicy = z.infer<typeof retrySchema>;
