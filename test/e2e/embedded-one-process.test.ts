import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';

const API_KEY = 'sk_embedded_one_process_0123456789';
let dataDir: string;
let first: SluiceProcess | undefined;

afterAll(async () => {
  await first?.stop('SIGKILL');
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/**
 * PGlite keeps the database in the memory of the process that opened it: a second process on
 * the same data dir used to start, serve its own copy, and on exit overwrite the first one's
 * runs. It must stop at startup instead, in one line naming SLUICE_DATA_DIR.
 */
describe('embedded mode: one process per data dir', () => {
  it('refuses a second process on a data dir in use, and starts again once the first stopped', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-embedded-one-'));
    const env = (port: number) => ({
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_WORKER_HEALTH_PORT: '0',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_API_KEY: API_KEY,
    });
    first = await startSluice(env(await freePort()), 60_000);

    // A second process that does become ready is the defect: stop it and fail at once.
    const refusal = await startSluice(env(await freePort()), 60_000).then(
      async (second) => {
        await second.stop('SIGKILL');
        return 'the second process started';
      },
      (error: Error) => error.message,
    );
    const [exit, stdout, ...stderr] = refusal.split('\n');
    expect(exit).toBe('sluice exited with 1 before ready:');
    expect(stdout).toBe('');
    expect(stderr.join('\n').trim()).toMatch(
      /^invalid environment: SLUICE_DATA_DIR ".*" is in use by another Sluice process \(pid \d+\)[^\n]*$/,
    );

    expect(await first.stop('SIGTERM')).toBe(0);
    first = await startSluice(env(await freePort()), 60_000);
    const res = await fetch(`http://127.0.0.1:${first.port}/v1/flows`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(res.status).toBe(200);
    // A process killed outright leaves its lock behind; the next start takes it over.
    await first.stop('SIGKILL');
    first = await startSluice(env(await freePort()), 60_000);
  }, 180_000);
});
