import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createWholeFile } from '../create-whole-file';
import { EnvError } from '../env';

/**
 * Embedded PGlite keeps the whole database in one process's memory and writes its files from
 * there: a second process opening the same directory works on a copy of its own, and whichever
 * closes last overwrites the other's runs without a word. So the process that opens it holds
 * `pglite.lock` (its pid, and on Linux when it started), and another finds the holder alive
 * and stops in one line instead.
 *
 * A lock left by a process that died (SIGKILL, a crash, a container restart that gave this
 * process the same pid) is taken over, and so is one whose pid now belongs to a process that
 * started at another time: the holder died and the pid was reused.
 */
export function lockPgliteDir(dataDir: string): () => void {
  const path = join(dataDir, 'pglite.lock');
  const mine = `${process.pid} ${startTimeOf(process.pid) ?? '-'} ${randomUUID()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWholeFile(path, mine)) return () => releaseIfMine(path, mine);
    const holder = readHolder(path);
    if (holder !== undefined && isAlive(holder)) {
      throw new EnvError(
        `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} is in use by another Sluice process (pid ${holder.pid}); the embedded database serves one process: stop that one, or give this one another SLUICE_DATA_DIR (or a DATABASE_URL)`,
      );
    }
    // Dead holder (or a file being written this instant): clear it and try again.
    if (holder !== undefined) unlinkQuietly(path);
  }
  throw new EnvError(
    `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(dataDir)} could not be locked for the embedded database (${path} keeps changing)`,
  );
}

interface Holder {
  pid: number;
  /** When it started, if the lock says (Linux); a lock written before this was kept says not. */
  startTime: string | undefined;
}

function readHolder(path: string): Holder | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [pidText, startTime] = content.split(' ');
  const pid = Number(pidText);
  // Unreadable content is no live holder: pid 0 is never alive below.
  return {
    pid: Number.isSafeInteger(pid) && pid > 0 ? pid : 0,
    startTime: startTime !== undefined && /^\d+$/.test(startTime) ? startTime : undefined,
  };
}

function isAlive({ pid, startTime }: Holder): boolean {
  if (pid === 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's process.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime === undefined ? undefined : startTimeOf(pid);
  return now === undefined || now === startTime;
}

/**
 * When `pid` started, in clock ticks after boot (field 22 of /proc/<pid>/stat): with the pid it
 * names one process for as long as the machine runs. Undefined where there is no /proc.
 */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
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
