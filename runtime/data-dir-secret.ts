import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Reads a generated secret from the data dir, creating it the first time.
 *
 * An APP and a worker sharing one data dir often start together, so two processes may both
 * find no file. Each writes its candidate to a private file and then links it into place:
 * `link` fails when the name exists, so exactly one candidate wins, every process reads that
 * one, and no reader ever sees a file that is still being written (an empty signing secret, or
 * two processes sealing secrets under different keys).
 *
 * This file imports only Node's own modules so that a test can load it in threads of its own.
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
  const candidate = join(dataDir, `.${file}.${randomUUID()}.tmp`);
  writeDurably(candidate, generate());
  try {
    linkSync(candidate, path);
  } catch (error) {
    // Another process linked its candidate first: that one is the secret.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(candidate);
  }
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

/** Synced before it is linked, so a crash cannot leave the linked name empty. */
function writeDurably(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
