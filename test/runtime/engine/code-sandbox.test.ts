import { afterEach, describe, expect, it } from 'vitest';
import { CodeSandbox } from '../../../runtime/engine/code-sandbox';

const bounds = { timeoutMs: 2000, maxOutputLength: 10_000 };
const input = JSON.stringify({ trigger: { body: 2 } });

describe('CodeSandbox', () => {
  let sandbox: CodeSandbox;
  afterEach(() => sandbox.dispose());

  it('reuses one isolate across runs', async () => {
    sandbox = new CodeSandbox(16);
    for (let i = 0; i < 5; i++) {
      expect(
        await sandbox.run('export default (ctx) => ctx.trigger.body * 2', input, bounds),
      ).toEqual({
        ok: true,
        outputJson: '4',
      });
    }
    expect(sandbox.isolatesCreated).toBe(1);
  });

  it('creates a new isolate after a memory-limit kill', async () => {
    sandbox = new CodeSandbox(16);
    await sandbox.run('export default () => 1', input, bounds);
    const bomb = await sandbox.run(
      'export default () => { const a = []; while (true) a.push(new Array(1e6).fill(1)) }',
      input,
      { ...bounds, timeoutMs: 10_000 },
    );
    expect(bomb).toMatchObject({ ok: false, reason: 'memory' });
    expect(await sandbox.run('export default () => "again"', input, bounds)).toEqual({
      ok: true,
      outputJson: '"again"',
    });
    expect(sandbox.isolatesCreated).toBe(2);
  });

  it('does not mistake a thrown message for a memory-limit kill', async () => {
    sandbox = new CodeSandbox(16);
    const result = await sandbox.run(
      "export default () => { throw new Error('Isolate was disposed during execution due to memory limit') }",
      input,
      bounds,
    );
    expect(result).toMatchObject({ ok: false, reason: 'error' });
    expect(sandbox.isolatesCreated).toBe(1);
    expect((await sandbox.run('export default () => 1', input, bounds)).ok).toBe(true);
    expect(sandbox.isolatesCreated).toBe(1);
  });

  it('replaces the isolate after a step that ran past its cap, and keeps it after one that threw', async () => {
    sandbox = new CodeSandbox(16);
    const capped = { ...bounds, timeoutMs: 100 };
    expect(
      await sandbox.run("export default () => { throw new Error('no') }", input, bounds),
    ).toEqual({ ok: false, reason: 'error', message: 'no' });
    expect(sandbox.isolatesCreated).toBe(1);
    expect(await sandbox.run('export default () => { for (;;) {} }', input, capped)).toEqual({
      ok: false,
      reason: 'timeout',
      message: 'code ran longer than 100 ms',
    });
    expect(await sandbox.run('export default () => 3', input, bounds)).toEqual({
      ok: true,
      outputJson: '3',
    });
    expect(sandbox.isolatesCreated).toBe(2);
  });

  it('lets a waiting step give up at its own cap while another holds the isolate', async () => {
    sandbox = new CodeSandbox(16);
    const long = sandbox.run(
      'export default () => { const end = Date.now() + 600; while (Date.now() < end) {} return 1 }',
      input,
      bounds,
    );
    const started = performance.now();
    const short = await sandbox.run('export default () => 2', input, { ...bounds, timeoutMs: 100 });
    expect(short).toEqual({ ok: false, reason: 'timeout', message: 'code ran longer than 100 ms' });
    expect(performance.now() - started).toBeLessThan(400);
    expect(await long).toEqual({ ok: true, outputJson: '1' });
  });

  it('resolves dispose once the isolate is gone, and runs again afterwards', async () => {
    sandbox = new CodeSandbox(16);
    await sandbox.run('export default () => 1', input, bounds);
    await sandbox.dispose();
    expect(await sandbox.run('export default () => 4', input, bounds)).toEqual({
      ok: true,
      outputJson: '4',
    });
    expect(sandbox.isolatesCreated).toBe(2);
  });

  it('once closed, ends every later step as shut down without making an isolate', async () => {
    sandbox = new CodeSandbox(16);
    const busy = sandbox.run(
      'export default () => { const end = Date.now() + 1500; while (Date.now() < end) {} return 1 }',
      input,
      bounds,
    );
    // Waits for its turn behind the busy step while the sandbox closes.
    const waiting = sandbox.run('export default () => 2', input, bounds);
    const run = sandbox.openRun();
    await new Promise((done) => setTimeout(done, 100));
    await sandbox.close();

    const shutDown = {
      ok: false,
      reason: 'error',
      message: 'the code sandbox was shut down during the step',
    };
    expect(await busy).toEqual(shutDown);
    expect(await waiting).toEqual(shutDown);
    expect(await run.run('export default () => 3', input, bounds)).toEqual(shutDown);
    expect(await sandbox.run('export default () => 4', input, bounds)).toEqual(shutDown);
    expect(await sandbox.answers(1000)).toBe(false);
    expect(sandbox.isolatesCreated).toBe(1);
    run.end();
  });

  it('runs steps of concurrent runs side by side', async () => {
    sandbox = new CodeSandbox(16);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sandbox.run(`export default async () => { await null; return ${i} }`, input, bounds),
      ),
    );
    expect(results.map((result) => result.ok && result.outputJson)).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it("makes one context for all of a run's steps, however many, and releases it at the end", async () => {
    sandbox = new CodeSandbox(16);
    const run = sandbox.openRun();
    for (let i = 0; i < 100; i++) {
      expect(
        await run.run(
          'export default () => (globalThis.count = (globalThis.count ?? 0) + 1)',
          input,
          bounds,
        ),
      ).toEqual({ ok: true, outputJson: String(i + 1) });
    }
    run.end();
    expect(sandbox.contextsCreated).toBe(1);
    await expect(run.run('export default () => 1', input, bounds)).rejects.toThrow(/ended/);
  });

  it('never shows one run what another left, even with their steps interleaved', async () => {
    sandbox = new CodeSandbox(16);
    const runs = [sandbox.openRun(), sandbox.openRun()];
    const note = (run: number) =>
      `export default () => { (globalThis.notes ??= []).push(${run}); return globalThis.notes }`;
    for (let round = 1; round <= 3; round++) {
      for (const [index, run] of runs.entries()) {
        expect(await run.run(note(index), input, bounds)).toEqual({
          ok: true,
          outputJson: JSON.stringify(Array(round).fill(index)),
        });
      }
    }
    for (const run of runs) run.end();
    expect(sandbox.contextsCreated).toBe(2);
  });

  it("goes on in a new context when a step (its own or another run's) had the isolate replaced", async () => {
    sandbox = new CodeSandbox(16);
    const capped = { ...bounds, timeoutMs: 100 };
    const run = sandbox.openRun();
    const keep = 'export default () => (globalThis.kept = (globalThis.kept ?? 0) + 1)';
    expect(await run.run(keep, input, bounds)).toEqual({ ok: true, outputJson: '1' });
    expect(await run.run('export default () => { for (;;) {} }', input, capped)).toMatchObject({
      ok: false,
      reason: 'timeout',
    });
    expect(await run.run(keep, input, bounds)).toEqual({ ok: true, outputJson: '1' });
    expect(await sandbox.run('export default () => { for (;;) {} }', input, capped)).toMatchObject({
      ok: false,
      reason: 'timeout',
    });
    expect(await run.run(keep, input, bounds)).toEqual({ ok: true, outputJson: '1' });
    run.end();
    expect(sandbox.isolatesCreated).toBe(3);
  });

  it('keeps the context after a step that threw or failed to compile', async () => {
    sandbox = new CodeSandbox(16);
    const run = sandbox.openRun();
    const keep = 'export default () => (globalThis.kept = (globalThis.kept ?? 0) + 1)';
    expect(await run.run(keep, input, bounds)).toEqual({ ok: true, outputJson: '1' });
    expect(await run.run("export default () => { throw new Error('no') }", input, bounds)).toEqual({
      ok: false,
      reason: 'error',
      message: 'no',
    });
    expect(await run.run("import fs from 'fs';\nexport default () => 1", input, bounds)).toEqual({
      ok: false,
      reason: 'error',
      message: 'imports are not available in code steps (got "fs")',
    });
    expect(await run.run('export default () => {', input, bounds)).toMatchObject({
      ok: false,
      reason: 'error',
    });
    expect(await run.run(keep, input, bounds)).toEqual({ ok: true, outputJson: '2' });
    run.end();
    expect(sandbox.contextsCreated).toBe(1);
  });

  it('links a first step again after its imports were refused, in the same pristine context', async () => {
    sandbox = new CodeSandbox(16);
    const run = sandbox.openRun();
    expect(await run.run("import 'sluice:guard';\nexport default () => 1", input, bounds)).toEqual({
      ok: false,
      reason: 'error',
      message: 'imports are not available in code steps (got "sluice:guard")',
    });
    expect(await run.run('export default (ctx) => ctx.trigger.body * 3', input, bounds)).toEqual({
      ok: true,
      outputJson: '6',
    });
    expect(await run.run('export default (ctx) => ctx.trigger.body * 4', input, bounds)).toEqual({
      ok: true,
      outputJson: '8',
    });
    run.end();
    expect(sandbox.contextsCreated).toBe(1);
  });
});
