import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createWholeFile } from '../create-whole-file';
import { EnvError } from '../env';

/**
 * Embedded PGlite keeps the whole database in one process's memory and writes its files from
 * there: a second process opening the same directory works on a copy of its own, and whichever
 * closes last overwrites the other's runs without a word. So the process that opens it holds
 * `pglite.lock` (its pid), and another finds the holder alive and stops in one line instead.
 *
 * A lock left by a process that died (SIGKILL, a crash, a container restart that gave this
 * process the same pid) is taken over.
 */
export function lockPgliteDir(dataDir: string): () => void {
  const path = join(dataDir, 'pglite.lock');
  const mine = `${process.pid} ${randomUUID()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWholeFile(path, mine)) return () => releaseIfMine(path, mine);
    const holder = readHolder(path);
    if (holder !== undefined && isAlive(holder)) {
      throw new EnvError(
        `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} is in use by another Sluice process (pid ${holder}); the embedded database serves one process: stop that one, or give this one another SLUICE_DATA_DIR (or a DATABASE_URL)`,
      );
    }
    // Dead holder (or a file being written this instant): clear it and try again.
    if (holder !== undefined) unlinkQuietly(path);
  }
  throw new EnvError(
    `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} could not be locked for the embedded database (${path} keeps changing)`,
  );
}

function readHolder(path: string): number | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(content.split(' ')[0]);
  // Unreadable content is no live holder: pid 0 is never alive below.
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

function isAlive(pid: number): boolean {
  if (pid === 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfMine(path: string, mine: string): void {
  try {
    if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
