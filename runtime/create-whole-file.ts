import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Creates `path` holding `content`, owner-only, unless something is there already (false).
 * The content goes to a private file first, synced, and is then linked into place: `link`
 * fails on an existing name, so of several processes racing one wins, and no reader ever sees
 * the file half written (or, after a crash, empty).
 */
export function createWholeFile(path: string, content: string): boolean {
  const candidate = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const fd = openSync(candidate, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(candidate, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(candidate);
  }
}
