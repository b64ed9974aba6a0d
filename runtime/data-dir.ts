import { accessSync, constants, mkdirSync } from 'node:fs';
import { EnvError } from './env';

/**
 * Makes SLUICE_DATA_DIR if it is missing and checks that it is a directory this process can
 * write to, so that a bad one stops startup with one line naming it, not with a stack from
 * whichever part touches it first.
 */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EnvError(
      `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dir)} cannot be used as a writable directory (${typeof code === 'string' ? code : 'refused'})`,
    );
  }
}
