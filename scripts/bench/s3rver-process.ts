import { type ChildProcess, spawn } from 'node:child_process';

/** Starts s3rver-child.ts as its own process and resolves with its endpoint and bucket. */
export function startS3rverChild(): Promise<{
  child: ChildProcess;
  endpoint: string;
  bucket: string;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/s3rver-child.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => {
      resolve({ child, ...(JSON.parse(chunk.toString()) as { endpoint: string; bucket: string }) });
    });
  });
}
