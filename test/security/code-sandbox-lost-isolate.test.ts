import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const engine = (file: string) => new URL(`../../runtime/engine/${file}`, import.meta.url).href;

/**
 * Runs `script` (an ES module that may import the engine's TypeScript) in a child Node process
 * and returns the JSON it prints. An isolate thread that is held for good would keep a normal
 * exit waiting forever, so each script ends itself with SIGKILL once it has printed.
 */
function runChild(script: string): Promise<unknown> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', '--input-type=module', '-e', script],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('close', () => {
      clearTimeout(killer);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) reject(new Error(`child printed no result:\n${stdout}\n${stderr}`));
      else resolve(JSON.parse(line));
    });
  });
}

const PRINT_THEN_KILL = `(result) => process.stdout.write(JSON.stringify(result) + '\\n', () => process.kill(process.pid, 'SIGKILL'))`;

describe('an isolate that cannot be disposed', () => {
  it('is told apart from one whose thread lets go', async () => {
    // Straight through isolated-vm, without the sandbox's harness: isolated-vm reads a thrown
    // Proxy's message, stack and name after the call's time cap, and the termination dispose()
    // asks for stops only the first of those reads, so the isolate's thread is held for good.
    const result = await runChild(`
      import ivm from 'isolated-vm';
      import { disposeAndConfirm } from '${engine('isolate-disposal.ts')}';
      const idle = new ivm.Isolate({ memoryLimit: 16 });
      await (await idle.createContext()).eval('1 + 1');
      const idleGone = await disposeAndConfirm(idle, 1000);
      const held = new ivm.Isolate({ memoryLimit: 16 });
      const context = await held.createContext();
      const call = context.evalClosure('throw new Proxy({}, { get() { for (;;) {} } })', [], { timeout: 100 });
      call.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const heldGone = await disposeAndConfirm(held, 1000, call);
      (${PRINT_THEN_KILL})({ idleGone, heldGone });
    `);
    expect(result).toEqual({ idleGone: true, heldGone: false });
  });

  it('is reported once when V8 gives up on it in a fatal out-of-memory', async () => {
    // A Map that grows past the cap makes V8 fail an allocation it cannot recover from;
    // isolated-vm then parks the isolate's thread instead of aborting the process.
    const result = await runChild(`
      import { CodeSandbox } from '${engine('code-sandbox.ts')}';
      const lost = [];
      const sandbox = new CodeSandbox(16, (reason) => lost.push(reason));
      const step = await sandbox.run(
        'export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]) }',
        '{}',
        { timeoutMs: 2000, maxOutputLength: 1000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      (${PRINT_THEN_KILL})({ step, lost });
    `);
    expect(result).toMatchObject({
      step: { ok: false, reason: 'timeout' },
      lost: [expect.stringMatching(/^V8 gave up on a code-step isolate/)],
    });
  });
});
