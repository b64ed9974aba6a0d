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
 * CPU seconds of every process running `command` (by program name), plus what their
 * ended children used. PostgreSQL runs a process per connection and closes idle ones: the
 * postmaster's ended-children time keeps their CPU in the sum, so the figure only grows.
 */
export function cpuSecondsOfCommand(command: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // `postgres: …` backends, and the postmaster started as /usr/lib/…/bin/postgres.
      const program = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (program.startsWith(command) || basename(program) === command) {
        total += cpuSeconds(Number(pid)) + endedChildrenCpuSeconds(Number(pid));
      }
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? 0);
}

export const peakRssMb = (pid: number) => Math.round(statusKiB(pid, 'VmHWM') / 102.4) / 10;
export const rssMb = (pid: number) => Math.round(statusKiB(pid, 'VmRSS') / 102.4) / 10;
