import { describe, expect, it } from 'vitest';
import { expectBenignStep, useHostileSandbox } from './code-sandbox-cases';

const bounds = { timeoutMs: 5000, maxOutputLength: 100_000 };

// What a run leaves in the isolate, rather than in its own context, outlives the run: later runs,
// of any project, find it under their memory cap.
describe('a run that leaves memory in the isolate', () => {
  const hostile = useHostileSandbox(16);

  it('leaves no registered symbols behind for later runs to pay for', async () => {
    // 8 MB of keys per run, each run's distinct: two runs' worth would fill the 16 MB cap.
    const register = `export default ({ run }) => {
      const key = 'k'.repeat(1 << 20) + run;
      for (let i = 0; i < 8; i++) Symbol.for(key + i);
      return run;
    }`;
    for (let run = 0; run < 6; run++) {
      const result = await hostile.sandbox.run(register, JSON.stringify({ run }), bounds);
      expect(result, `run ${run}`).toEqual({ ok: true, outputJson: String(run) });
    }
    await expectBenignStep(
      (code, input, stepBounds) => hostile.sandbox.run(code, input, stepBounds),
      bounds,
      'a run after them',
    );
    expect(hostile.sandbox.isolatesCreated).toBe(1);
  });

  it('still gives the steps of one run the same registered symbols', async () => {
    const run = hostile.sandbox.openRun();
    try {
      const first = await run.run(
        'export default () => { globalThis.kept = Symbol.for("shared"); return Symbol.keyFor(kept) }',
        'null',
        bounds,
      );
      expect(first).toEqual({ ok: true, outputJson: '"shared"' });
      const second = await run.run(
        'export default () => [Symbol.for("shared") === kept, Symbol.keyFor(Symbol("shared")) ?? null]',
        'null',
        bounds,
      );
      expect(second).toEqual({ ok: true, outputJson: '[true,null]' });
    } finally {
      run.end();
    }
  });
});
