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
      await sandbox.run("export default () => { throw new Error('no') }", input, capped),
    ).toEqual({ ok: false, reason: 'error', message: 'no' });
    expect(sandbox.isolatesCreated).toBe(1);
    expect(await sandbox.run('export default () => { for (;;) {} }', input, capped)).toEqual({
      ok: false,
      reason: 'timeout',
      message: 'code ran longer than 100 ms',
    });
    expect(await sandbox.run('export default () => 3', input, capped)).toEqual({
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
});
