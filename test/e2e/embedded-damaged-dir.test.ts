import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluiceToExit } from '../support/processes';

let root: string;
let healthy: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-embedded-damaged-'));
  healthy = join(root, 'healthy');
  await mkdir(healthy);
  const db = await PGlite.create(join(healthy, 'pg'));
  await db.query('select 1');
  await db.close();
}, 60_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** A copy of the healthy data dir, damaged by `damage(pgDir)`. */
async function damaged(name: string, damage: (pg: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await cp(healthy, dir, { recursive: true });
  await damage(join(dir, 'pg'));
  return dir;
}

/**
 * A damaged or partial PGlite directory (a disk that filled, a copy cut short) used to stop
 * startup with a WASM stack trace; it must stop it with one line naming SLUICE_DATA_DIR.
 */
describe('embedded mode on a damaged data dir', () => {
  const cases: [string, (pg: string) => Promise<void>][] = [
    ['garbage PG_VERSION', (pg) => writeFile(join(pg, 'PG_VERSION'), 'garbage\n')],
    ['no pg_control', (pg) => rm(join(pg, 'global', 'pg_control'))],
    [
      'a pg dir cut short',
      async (pg) => {
        await rm(pg, { recursive: true });
        await mkdir(pg);
        await writeFile(join(pg, 'PG_VERSION'), '17\n');
      },
    ],
  ];
  it.each(cases)(
    'stops in one line naming SLUICE_DATA_DIR: %s',
    async (name, damage) => {
      const dataDir = await damaged(name.replaceAll(' ', '-'), damage);
      const { code, stdout, stderr } = await runSluiceToExit({
        PORT: '0',
        HOST: '127.0.0.1',
        SLUICE_PUBLIC_URL: 'http://127.0.0.1:1',
        SLUICE_WORKER_HEALTH_PORT: '0',
        SLUICE_DATA_DIR: dataDir,
        SLUICE_API_KEY: 'sk_embedded_damaged_0123456789abcdef',
      });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        /^SLUICE_DATA_DIR ".*": the embedded database in its pg directory cannot be opened \([^\n]+\); [^\n]+\n$/,
      );
    },
    60_000,
  );
});
