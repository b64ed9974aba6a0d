import { abortedError } from './deadline';
import { StepFailedError } from './errors/step-failed-error';
import type { RetryPolicy } from './retry-schema';
import type { StepAttempt } from './types';

/** The wait before try `attempt + 1`; a server's Retry-After wins, capped at maxDelayMs. */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  serverAskedMs: number | null,
  random: () => number = Math.random,
): number {
  if (serverAskedMs !== null) return Math.min(serverAskedMs, policy.maxDelayMs);
  const base = policy.backoff === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** (attempt - 1);
  const capped = Math.min(base, policy.maxDelayMs);
  return policy.jitter ? Math.round(capped / 2 + (random() * capped) / 2) : capped;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs `tryOnce` up to `policy.attempts` times, recording each try in `attempts`. Only a
 * StepFailedError with a retry hint is tried again; a limit, the deadline or a cancel ends the
 * step at once. A wait counts against the flow deadline: when it would end past the deadline,
 * the step fails with its last error instead of waiting.
 */
export async function runWithRetry<T>(
  policy: RetryPolicy | undefined,
  run: { deadline: number; signal: AbortSignal | undefined },
  attempts: StepAttempt[],
  tryOnce: () => Promise<T> | T,
): Promise<T> {
  const tries = policy?.attempts ?? 1;
  for (let attempt = 1; ; attempt++) {
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const durationMs = () => Math.round((performance.now() - t0) * 1000) / 1000;
    try {
      const result = await tryOnce();
      if (policy !== undefined) attempts.push({ startedAt, durationMs: durationMs() });
      return result;
    } catch (error) {
      if (policy !== undefined) {
        attempts.push({ startedAt, durationMs: durationMs(), error: errorText(error) });
      }
      if (
        policy === undefined ||
        attempt >= tries ||
        !(error instanceof StepFailedError) ||
        error.retry === null
      ) {
        throw error;
      }
      const waitMs = retryDelayMs(policy, attempt, error.retry.afterMs);
      if (Date.now() + waitMs >= run.deadline) {
        throw new StepFailedError(
          `${error.message} (not retried: waiting ${waitMs} ms would pass the flow deadline)`,
        );
      }
      await sleep(waitMs, run.signal);
    }
  }
}
