import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWholeFile } from './create-whole-file';

/**
 * Reads a generated secret from the data dir, creating it the first time.
 *
 * An APP and a worker sharing one data dir often start together, so two processes may both
 * find no file. createWholeFile lets exactly one candidate win and every process then reads
 * that one; no reader sees a file still being written (an empty signing secret, or two
 * processes sealing secrets under different keys).
 */
export function persistentDataDirSecret(
  dataDir: string,
  file: string,
  generate: () => string,
): string {
  const path = join(dataDir, file);
  const existing = readIfPresent(path);
  if (existing !== undefined) return existing;
  mkdirSync(dataDir, { recursive: true });
  createWholeFile(path, generate());
  const secret = readIfPresent(path);
  if (secret === undefined) throw new Error(`${path} vanished while it was being created`);
  return secret;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
