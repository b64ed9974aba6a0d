import { RETIRE_MARK } from './code-step-harness';

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

export const sandboxShutDown: CodeRunFailure = {
  ok: false,
  reason: 'error',
  message: 'the code sandbox was shut down during the step',
};

/**
 * `disposeIsolate`: the step's code may still be running, or never finish. `retireContext`: the
 * step made Intl objects, which count per context, so the run's next step gets a new context.
 */
export type DecodedOutcome = {
  result: CodeRunResult;
  disposeIsolate: boolean;
  retireContext: boolean;
};

/**
 * Reads the outcome text the guard left in the step's carrier (code-step-harness.ts): a
 * one-letter code, then its text, after RETIRE_MARK when the context must not be reused.
 */
export function decodeOutcome(
  marked: string,
  limits: { timeoutMs: number; memoryMb: number; maxOutputLength: number },
): DecodedOutcome {
  const retireContext = marked.startsWith(RETIRE_MARK);
  const text = retireContext ? marked.slice(RETIRE_MARK.length) : marked;
  return { ...decodeCode(text, limits), retireContext };
}

function decodeCode(
  text: string,
  limits: { timeoutMs: number; memoryMb: number; maxOutputLength: number },
): Omit<DecodedOutcome, 'retireContext'> {
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
