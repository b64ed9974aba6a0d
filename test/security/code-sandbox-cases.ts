import { afterEach, beforeEach, expect } from 'vitest';
import type { CodeRunResult } from '../../runtime/engine/code-run-result';
import { type CodeRunBounds, CodeSandbox } from '../../runtime/engine/code-sandbox';

/** A small time cap, so that code which never returns costs each test little. */
export const CAP_MS = 200;
/** How long after its cap a hostile step may take to be reported. */
const REPORT_SLACK_MS = 1000;
/** How long the benign step after a hostile one may take, isolate replacement included. */
const RECOVERY_MS = 1000;

/** JavaScript that never returns, for the bodies of traps, getters and callbacks. */
export const FOREVER = 'for (;;) {}';
/** A Proxy handler whose every trap never returns. */
export const TRAPS_NEVER_RETURN = `new Proxy({}, { get: () => () => { ${FOREVER} } })`;

/** A sandbox with a 16 MB cap whose lost isolates (there must be none) are recorded. */
export function hostileSandbox(memoryMb = 16) {
  const lost: string[] = [];
  const sandbox = new CodeSandbox(memoryMb, (reason) => lost.push(reason));
  return { sandbox, lost };
}

/**
 * A fresh hostileSandbox for each test of the calling describe block, disposed after it, which
 * also checks that no isolate was lost. The returned object always names the current test's.
 */
export function useHostileSandbox(memoryMb = 16): ReturnType<typeof hostileSandbox> {
  let current = hostileSandbox(memoryMb);
  beforeEach(async () => {
    current = hostileSandbox(memoryMb);
    // A step's cap counts making its isolate, which a busy box can stretch past CAP_MS: made
    // here, so that each hostile step's cap is its own code's.
    expect(await current.sandbox.answers(10_000)).toBe(true);
  });
  afterEach(async () => {
    await current.sandbox.dispose();
    expect(current.lost).toEqual([]);
  });
  return {
    get sandbox() {
      return current.sandbox;
    },
    get lost() {
      return current.lost;
    },
  };
}

/**
 * Runs the hostile `code`, then a benign step on the same sandbox, and returns what the hostile
 * step came to. Fails unless the hostile step was reported within its cap and a second, the
 * benign one succeeded with its own output within RECOVERY_MS, and no isolate was lost. The pair
 * runs twice: as two runs (each in its own context), then as two steps of one run (sharing the
 * run's context, whatever the hostile step left in it); both must come to the same.
 */
export async function runThenRecover(
  hostile: ReturnType<typeof hostileSandbox>,
  code: string,
  capMs = CAP_MS,
): Promise<CodeRunResult> {
  const { sandbox } = hostile;
  const apart = await hostileThenBenign(hostile, code, capMs, (step, input, bounds) =>
    sandbox.run(step, input, bounds),
  );
  const run = sandbox.openRun();
  try {
    const together = await hostileThenBenign(hostile, code, capMs, (step, input, bounds) =>
      run.run(step, input, bounds),
    );
    expect(together, `in one run: ${code}`).toEqual(apart);
  } finally {
    run.end();
  }
  return apart;
}

async function hostileThenBenign(
  { lost }: ReturnType<typeof hostileSandbox>,
  code: string,
  capMs: number,
  runStep: (code: string, inputJson: string, bounds: CodeRunBounds) => Promise<CodeRunResult>,
): Promise<CodeRunResult> {
  const bounds = { timeoutMs: capMs, maxOutputLength: 100_000 };
  const started = performance.now();
  const result = await runStep(code, '{"trigger":{"body":null}}', bounds);
  expect(performance.now() - started, code).toBeLessThan(capMs + REPORT_SLACK_MS);
  await expectBenignStep(runStep, bounds, `the step after: ${code}`);
  expect(lost).toEqual([]);
  return result;
}

/**
 * Runs a benign step that must come back with its own output (from an input the host chose at
 * random, so that nothing made earlier can match it) within RECOVERY_MS. Its cap is
 * RECOVERY_MS too, not the hostile step's: the isolate and context it may have to make count
 * against a step's cap, and on a loaded box they alone can take longer than CAP_MS.
 */
export async function expectBenignStep(
  runStep: (code: string, inputJson: string, bounds: CodeRunBounds) => Promise<CodeRunResult>,
  bounds: CodeRunBounds,
  label: string,
): Promise<void> {
  const n = Math.floor(Math.random() * 1_000_000);
  const recoveryStarted = performance.now();
  const next = await runStep(
    'export default ({ n }) => ({ doubled: n * 2 })',
    JSON.stringify({ n }),
    { ...bounds, timeoutMs: RECOVERY_MS },
  );
  expect(next, label).toEqual({ ok: true, outputJson: JSON.stringify({ doubled: n * 2 }) });
  expect(performance.now() - recoveryStarted, label).toBeLessThan(RECOVERY_MS);
}

/** Runs each variant through runThenRecover and checks its result with `expectation`. */
export async function eachVariant(
  sandbox: ReturnType<typeof hostileSandbox>,
  variants: Record<string, string>,
  expectation: (result: CodeRunResult, name: string) => void,
  capMs = CAP_MS,
): Promise<void> {
  for (const [name, code] of Object.entries(variants)) {
    expectation(await runThenRecover(sandbox, code, capMs), name);
  }
}

/** Expects a failure for `reason`, naming the variant when it is not. */
export const failsWith =
  (reason: 'error' | 'timeout' | 'memory', message?: string | RegExp) =>
  (result: CodeRunResult, name: string) => {
    expect(result, name).toMatchObject({ ok: false, reason });
    if (message !== undefined && !result.ok) expect(result.message, name).toMatch(message);
  };
