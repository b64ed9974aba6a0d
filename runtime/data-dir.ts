import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EnvError } from './env';

/**
 * Makes SLUICE_DATA_DIR if it is missing and checks that it is a directory this process can
 * write to, so that a bad one stops startup with one line naming it, not with a stack from
 * whichever part touches it first.
 */
export function ensureDataDir(dir: string): void {
  try {
    makeMissing(resolve(dir));
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EnvError(
      `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dir)} cannot be used as a writable directory (${typeof code === 'string' ? code : 'refused'})`,
    );
  }
}

/**
 * Makes `dir` and its missing parents one at a time. Node's `recursive` option never returns
 * where a parent cannot hold directories of its own (under /proc it retries for ever).
 */
function makeMissing(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeMissing(parent);
  mkdirSync(dir);
}
