import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startSluice } from '../support/processes';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * The secrets Sluice generates into its data dir are checked like the variables that replace
 * them. An empty secrets-key used to be taken as it was: the process started and sealed secrets
 * under a key derived from nothing. A short signing-secret stopped it with a stack trace.
 */
describe('embedded mode with a damaged generated secret in its data dir', () => {
  const cases: [string, string, RegExp][] = [
    ['secrets-key', '', /holds a secrets-key that is not base64 of at least 32 bytes \(empty\)/],
    [
      'secrets-key',
      'c2hvcnQ=',
      /holds a secrets-key that is not base64 of at least 32 bytes \(damaged\)/,
    ],
    ['signing-secret', 'short', /holds a signing-secret shorter than 32 characters \(damaged\)/],
  ];
  it.each(cases)(
    'stops in one line naming SLUICE_DATA_DIR: %s %j',
    async (file, content, says) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'sluice-damaged-secret-'));
      dirs.push(dataDir);
      await writeFile(join(dataDir, file), content);
      // A process that does become ready is the defect: stop it and fail at once.
      const refusal = await startSluice(
        {
          PORT: String(await freePort()),
          HOST: '127.0.0.1',
          SLUICE_WORKER_HEALTH_PORT: '0',
          SLUICE_DATA_DIR: dataDir,
          SLUICE_API_KEY: 'sk_embedded_damaged_secret_0123456789',
        },
        60_000,
      ).then(
        async (sluice) => {
          await sluice.stop('SIGKILL');
          return 'it started';
        },
        (error: Error) => error.message,
      );
      const [exit, , ...stderr] = refusal.split('\n');
      expect(exit).toBe('sluice exited with 1 before ready:');
      const message = stderr.join('\n').trim();
      expect(message).toMatch(/^invalid environment: SLUICE_DATA_DIR "[^"\n]+" [^\n]+$/);
      expect(message).toMatch(says);
    },
    90_000,
  );
});
