import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// dist/ is built once by test/global-setup.ts, with scripts/build.mjs as the Dockerfile runs it.
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('the external packages of the bundle (dist/package.json)', () => {
  const pkg = readJson('package.json');
  const lock = readJson('package-lock.json');
  const distPkg = readJson('dist/package.json');
  const distLock = readJson('dist/package-lock.json');

  it('are locked at the versions and integrity hashes that development and tests use', () => {
    const locked = Object.entries(distLock.packages).filter(([path]) => path !== '');

    expect(locked.length).toBeGreaterThan(Object.keys(distPkg.dependencies).length);
    for (const [path, entry] of locked) {
      const ours = lock.packages[path];
      expect({ path, version: ours?.version, integrity: ours?.integrity }).toEqual({
        path,
        version: (entry as { version: string }).version,
        integrity: (entry as { integrity: string }).integrity,
      });
    }
  });

  it('lock every package the bundle keeps external, and what each depends on', () => {
    const locked = distLock.packages as Record<string, { version?: string; dependencies?: object }>;

    expect(locked['']?.dependencies).toEqual(distPkg.dependencies);
    for (const name of Object.keys(distPkg.dependencies)) {
      expect(locked[`node_modules/${name}`]?.version).toBe(
        lock.packages[`node_modules/${name}`].version,
      );
    }
    expect(locked['node_modules/node-gyp-build']).toBeDefined();
    expect(locked['node_modules/@bull-board/ui']).toBeDefined();
  });

  it('keep our decision that isolated-vm runs no install script, and our engines', () => {
    expect(distPkg.allowScripts).toEqual({ 'isolated-vm': false });
    expect(distPkg.engines).toEqual(pkg.engines);
  });
});
