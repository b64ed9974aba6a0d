import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const TICKS_PER_SECOND = 100;

/** User and system (kernel) CPU seconds a process has used so far, from /proc/<pid>/stat. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may contain spaces and is wrapped in parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    user: Number(fields[11]) / TICKS_PER_SECOND,
    system: Number(fields[12]) / TICKS_PER_SECOND,
  };
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** User + system CPU seconds of the process's children that ended and were waited for. */
function endedChildrenCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/**
 * The processes running `command` (by program name): `postgres: …` backends, and the
 * postmaster started as /usr/lib/…/bin/postgres.
 */
function pidsOfCommand(command: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const program = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (program.startsWith(command) || basename(program) === command) pids.push(Number(pid));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** `read` for a process that may end while it is read; once it has ended, `ended` stands in. */
function ofLiveProcess<T>(read: () => T, ended: T): T {
  try {
    return read();
  } catch {
    return ended;
  }
}

/**
 * CPU seconds of every process running `command`, plus what their ended children used.
 * PostgreSQL runs a process per connection and closes idle ones: the postmaster's
 * ended-children time keeps their CPU in the sum, so the figure only grows.
 */
export function cpuSecondsOfCommand(command: string): number {
  return pidsOfCommand(command).reduce(
    (total, pid) => total + ofLiveProcess(() => cpuSeconds(pid) + endedChildrenCpuSeconds(pid), 0),
    0,
  );
}

/**
 * What a process has done so far, counted rather than timed, so that the host's speed does not
 * move it: the same work makes the same counts on a slow box and a fast one.
 */
export interface ProcessCounts {
  /** Read- and write-type system calls (socket reads and writes among them), all threads. */
  ioCalls: number;
  /** Times its live threads stopped to wait for something (voluntary context switches). */
  waits: number;
}

const NO_COUNTS: ProcessCounts = { ioCalls: 0, waits: 0 };

function processCounts(pid: number): ProcessCounts {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  let waits = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    waits += ofLiveProcess(() => {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }, 0);
  }
  return { ioCalls: field('syscr') + field('syscw'), waits };
}

export const addCounts = (a: ProcessCounts, b: ProcessCounts): ProcessCounts => ({
  ioCalls: a.ioCalls + b.ioCalls,
  waits: a.waits + b.waits,
});

/** processCounts of several processes, summed; one that ended meanwhile counts nothing. */
export const countsOf = (pids: readonly number[]): ProcessCounts =>
  pids.reduce(
    (sum, pid) =>
      addCounts(
        sum,
        ofLiveProcess(() => processCounts(pid), NO_COUNTS),
      ),
    NO_COUNTS,
  );

/**
 * A reader of the counts of every process running `command` that never goes down: a process
 * that has ended keeps the counts it had when last read (PostgreSQL closes idle backends, and an
 * ended backend's counts leave /proc with it), so what it did after that reading is not counted.
 */
export function countsOfCommandSoFar(command: string): () => ProcessCounts {
  const lastRead = new Map<number, ProcessCounts>();
  return () => {
    for (const pid of pidsOfCommand(command)) {
      const counts = ofLiveProcess(() => processCounts(pid), undefined);
      if (counts !== undefined) lastRead.set(pid, counts);
    }
    return [...lastRead.values()].reduce(addCounts, NO_COUNTS);
  };
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? 0);
}

export const peakRssMb = (pid: number) => Math.round(statusKiB(pid, 'VmHWM') / 102.4) / 10;
export const rssMb = (pid: number) => Math.round(statusKiB(pid, 'VmRSS') / 102.4) / 10;
