import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDataDir } from '../../runtime/data-dir';

describe('SLUICE_DATA_DIR at startup', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('makes a missing directory and its missing parents, and accepts one that exists', () => {
    root = mkdtempSync(join(tmpdir(), 'sluice-data-dir-'));
    const dir = join(root, 'a', 'b', 'c');
    ensureDataDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(() => ensureDataDir(dir)).not.toThrow();
  });

  it.each([
    ['a file', (root: string) => fileAt(join(root, 'file')), 'ENOTDIR'],
    [
      'a path through a file',
      (root: string) => join(fileAt(join(root, 'file')), 'data'),
      'ENOTDIR',
    ],
    // Node's recursive mkdir never returns here: it retries for ever.
    ['a path under /proc', () => `/proc/sluice-${process.pid}/data`, 'ENOENT'],
  ])('refuses %s with one line naming the variable and the reason', (_what, place, code) => {
    root = mkdtempSync(join(tmpdir(), 'sluice-data-dir-'));
    const dir = place(root);
    expect(() => ensureDataDir(dir)).toThrow(
      `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dir)} cannot be used as a writable directory (${code})`,
    );
  });
});

function fileAt(path: string): string {
  writeFileSync(path, '');
  return path;
}
