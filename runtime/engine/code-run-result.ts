/** What one code step came to, as the sandbox reports it. */
export type CodeRunResult =
  | { ok: true; outputJson: string }
  | {
      ok: false;
      reason: 'error' | 'timeout' | 'memory' | 'too_large' | 'aborted';
      message: string;
    };

export type CodeRunFailure = Extract<CodeRunResult, { ok: false }>;

export const timedOut = (timeoutMs: number): CodeRunFailure => ({
  ok: false,
  reason: 'timeout',
  message: `code ran longer than ${timeoutMs} ms`,
});

export const overMemory = (memoryMb: number): CodeRunFailure => ({
  ok: false,
  reason: 'memory',
  message: `code used more than ${memoryMb} MB`,
});

export const aborted: CodeRunFailure = { ok: false, reason: 'aborted', message: 'flow aborted' };

/** An outcome whose isolate must be disposed: its code may still be running, or never finish. */
export type DecodedOutcome = { result: CodeRunResult; disposeIsolate: boolean };

/**
 * Reads the outcome text the step's guard left in its carrier (code-step-harness.ts): a
 * one-letter code, then its text.
 */
export function decodeOutcome(
  text: string,
  limits: { timeoutMs: number; memoryMb: number; maxOutputLength: number },
): DecodedOutcome {
  const payload = text.slice(1);
  const failed = (message: string): CodeRunFailure => ({ ok: false, reason: 'error', message });
  switch (text[0]) {
    case 'J':
      return { result: { ok: true, outputJson: payload }, disposeIsolate: false };
    case 'E':
      return { result: failed(payload), disposeIsolate: false };
    case 'U':
      return {
        result: failed(`output is not JSON-serialisable: ${payload}`),
        disposeIsolate: false,
      };
    case 'L':
      return {
        result: {
          ok: false,
          reason: 'too_large',
          message: `output is ${payload} characters of JSON, over the cap of ${limits.maxOutputLength}`,
        },
        disposeIsolate: false,
      };
    case 'M':
      return { result: overMemory(limits.memoryMb), disposeIsolate: true };
    case 'T':
      // Top-level code that threw or never finished: its value is never read (see the harness).
      return {
        result: failed(
          'code threw, or never finished, in its top-level statements; move them into the default export to see the error',
        ),
        disposeIsolate: true,
      };
    case 'P':
      return { result: timedOut(limits.timeoutMs), disposeIsolate: true };
    default:
      return {
        result: failed('the code sandbox could not be prepared for the step'),
        disposeIsolate: true,
      };
  }
}
