import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { persistentDataDirSecret } from '../../runtime/data-dir-secret';

const MODULE = resolve(__dirname, '../../runtime/data-dir-secret.ts');
const RACERS = 8;
const ROUNDS = 25;

/**
 * Each thread waits at a shared barrier, then asks for the secret in every round's fresh
 * directory, as an APP and a worker starting together on one data dir do. Threads run in
 * parallel, so their file-system calls interleave for real.
 */
const RACER = `
const { workerData, parentPort } = require('node:worker_threads');
const gate = new Int32Array(workerData.gate);
// tsx resolves the module's own extensionless imports, as it does for npm start.
import('tsx/esm/api')
  .then(({ register }) => {
    register();
    return import(workerData.module);
  })
  .then(({ persistentDataDirSecret }) => {
    const seen = [];
    for (let round = 0; round < workerData.dirs.length; round++) {
      Atomics.add(gate, 1, 1);
      Atomics.wait(gate, 0, round);
      seen.push(persistentDataDirSecret(workerData.dirs[round], 'signing-secret', () =>
        require('node:crypto').randomBytes(32).toString('hex')));
    }
    parentPort.postMessage(seen);
  });
`;

describe('a secret generated into the data dir', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is generated once, kept owner-only, and read back on the next start', () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
    const dir = join(root, 'data');
    const first = persistentDataDirSecret(dir, 'signing-secret', () => 'generated-value');
    expect(first).toBe('generated-value');
    expect(statSync(join(dir, 'signing-secret')).mode & 0o777).toBe(0o600);
    expect(persistentDataDirSecret(dir, 'signing-secret', () => 'another-value')).toBe(first);
    // No candidate file is left behind.
    expect(readdirSync(dir)).toEqual(['signing-secret']);
  });

  it('keeps a secret written by hand, without its trailing newline', () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
    writeFileSync(join(root, 'secrets-key'), 'a-key-someone-wrote\n');
    expect(persistentDataDirSecret(root, 'secrets-key', () => 'unused')).toBe(
      'a-key-someone-wrote',
    );
  });

  it('is the same whole secret in every process that starts at once on one data dir', async () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
    const dirs = Array.from({ length: ROUNDS }, (_, round) => join(root, `round-${round}`));
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const racers = Array.from(
      { length: RACERS },
      () =>
        new Worker(RACER, {
          eval: true,
          workerData: { module: MODULE, dirs, gate: gate.buffer },
        }),
    );
    const results = racers.map(
      (racer) =>
        new Promise<string[]>((done, fail) => {
          racer.once('message', done);
          racer.once('error', fail);
        }),
    );
    // Opens the barrier of each round once every thread waits at it.
    for (let round = 0; round < ROUNDS; round++) {
      while (Atomics.load(gate, 1) < RACERS * (round + 1)) {
        await new Promise((tick) => setTimeout(tick, 1));
      }
      Atomics.store(gate, 0, round + 1);
      Atomics.notify(gate, 0);
    }
    const seen = await Promise.all(results);
    await Promise.all(racers.map((racer) => racer.terminate()));

    for (let round = 0; round < ROUNDS; round++) {
      const stored = readFileSync(join(dirs[round] as string, 'signing-secret'), 'utf8');
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
      expect(seen.map((racer) => racer[round])).toEqual(Array(RACERS).fill(stored));
      expect(readdirSync(dirs[round] as string)).toEqual(['signing-secret']);
    }
  });
});
