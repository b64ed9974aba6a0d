/**
 * A process that runs code steps in a few sandboxes, disposes them as a stopping worker does,
 * then ends the way a cleanly stopped process ends (exitAfterCleanStop): it should always exit
 * 0. Ending it with process.exit(0) instead crashed it (SIGSEGV) in 17 of 20 runs.
 */
import { CodeSandbox } from '../../runtime/engine/code-sandbox';
import { exitAfterCleanStop } from '../../runtime/exit-after-clean-stop';

const sandboxes = [new CodeSandbox(64), new CodeSandbox(64), new CodeSandbox(64)];
const bounds = { timeoutMs: 1000, maxOutputLength: 1024 };
for (const sandbox of sandboxes) {
  for (let i = 0; i < 40; i++) {
    const result = await sandbox.run(
      'export default ({ n }) => n + 1',
      JSON.stringify({ n: i }),
      bounds,
    );
    if (!result.ok) throw new Error(`step ${i} failed: ${JSON.stringify(result)}`);
  }
}
// Each run left the next run's context on its way (made after a turn of the event loop).
await Promise.all(sandboxes.map((sandbox) => sandbox.dispose()));
exitAfterCleanStop();
