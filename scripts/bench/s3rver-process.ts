import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * s3rver keeps three files per object. On disk their writes cost this box more CPU than the
 * rest of a run's storage work, a cost S3 itself never puts on our cores: keep them in memory.
 */
const MEMORY_TMPDIR = '/dev/shm';

/** Starts s3rver-child.ts as its own process and resolves with its endpoint and bucket. */
export function startS3rverChild(): Promise<{
  child: ChildProcess;
  endpoint: string;
  bucket: string;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/s3rver-child.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: existsSync(MEMORY_TMPDIR) ? { ...process.env, TMPDIR: MEMORY_TMPDIR } : process.env,
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => {
      resolve({ child, ...(JSON.parse(chunk.toString()) as { endpoint: string; bucket: string }) });
    });
  });
}
