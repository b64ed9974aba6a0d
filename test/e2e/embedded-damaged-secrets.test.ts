import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../runtime/env';
import { createDataKeys, createFileStore } from '../../runtime/parts';
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
  // One process start shows the refusal reaches startup as one line; the other damaged forms
  // are the same check, held in process (below), since each start costs an embedded database.
  const cases: [string, string, RegExp][] = [
    ['secrets-key', '', /holds a secrets-key that is not base64 of at least 32 bytes \(empty\)/],
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

describe('the generated secrets a data dir holds, checked in process', () => {
  it.each([
    [
      'secrets-key',
      'c2hvcnQ=',
      /holds a secrets-key that is not base64 of at least 32 bytes \(damaged\)/,
    ],
    [
      'secrets-key',
      'not base64 at all!',
      /holds a secrets-key that is not base64 of at least 32 bytes \(damaged\)/,
    ],
    ['signing-secret', 'short', /holds a signing-secret shorter than 32 characters \(damaged\)/],
    ['signing-secret', '', /holds a signing-secret shorter than 32 characters \(empty\)/],
  ])('refuses %s %j in one line naming SLUICE_DATA_DIR', async (file, content, says) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-damaged-secret-'));
    dirs.push(dataDir);
    await writeFile(join(dataDir, file), content);
    const env = parseEnv({ SLUICE_DATA_DIR: dataDir });
    const opening =
      file === 'secrets-key'
        ? createDataKeys(env)
        : Promise.resolve().then(() => createFileStore(env));
    await expect(opening).rejects.toThrow(says);
    await expect(opening).rejects.toThrow(
      /^invalid environment: SLUICE_DATA_DIR "[^"\n]+" [^\n]+$/,
    );
  });
});
