import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockPgliteDir } from '../../../runtime/db/pglite-lock';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-lock-'));
  dirs.push(dir);
  return dir;
};
/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
const startTimeOf = (pid: number) =>
  readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A real process: alive until killed; its pid, then a way to end it. */
async function liveProcess() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((ready) => child.once('spawn', ready));
  const exited = new Promise((done) => child.once('exit', done));
  return {
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('lockPgliteDir', () => {
  it('refuses a data dir whose lock a live process holds, naming SLUICE_DATA_DIR and the pid', async () => {
    const dir = tempDir();
    const other = await liveProcess();
    try {
      writeFileSync(join(dir, 'pglite.lock'), `${other.pid} someone-else`);
      expect(() => lockPgliteDir(dir)).toThrow(
        new RegExp(`^invalid environment: SLUICE_DATA_DIR ".*" is in use .*pid ${other.pid}`),
      );
      expect(readFileSync(join(dir, 'pglite.lock'), 'utf8')).toBe(`${other.pid} someone-else`);
    } finally {
      await other.stop();
    }
  });

  it('takes over a lock whose holder died, and releases it', async () => {
    const dir = tempDir();
    const dead = await liveProcess();
    await dead.stop();
    writeFileSync(join(dir, 'pglite.lock'), `${dead.pid} crashed`);
    const release = lockPgliteDir(dir);
    expect(readFileSync(join(dir, 'pglite.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    release();
    expect(existsSync(join(dir, 'pglite.lock'))).toBe(false);
  });

  it('takes over a lock whose pid a process started at another time holds (the pid was reused)', async () => {
    const dir = tempDir();
    const other = await liveProcess();
    try {
      const started = startTimeOf(other.pid);
      // The holder's own start: refused, as any live holder.
      writeFileSync(join(dir, 'pglite.lock'), `${other.pid} ${started} holder`);
      expect(() => lockPgliteDir(dir)).toThrow(new RegExp(`is in use .*pid ${other.pid}`));
      // Another start under the same pid: its holder died and the pid went to this process.
      writeFileSync(join(dir, 'pglite.lock'), `${other.pid} ${Number(started) - 1} crashed`);
      const release = lockPgliteDir(dir);
      expect(readFileSync(join(dir, 'pglite.lock'), 'utf8')).toMatch(
        new RegExp(`^${process.pid} ${startTimeOf(process.pid)} `),
      );
      release();
    } finally {
      await other.stop();
    }
  });

  it('takes over a lock left under its own pid (a restarted container) or holding garbage', () => {
    for (const content of [`${process.pid} before-restart`, '', 'not a pid']) {
      const dir = tempDir();
      writeFileSync(join(dir, 'pglite.lock'), content);
      lockPgliteDir(dir)();
    }
  });

  it('refuses a second lock in the same directory until the first is released', () => {
    const dir = tempDir();
    const other = lockPgliteDir(dir);
    // Same pid reads as a leftover; a different live holder is what refuses (see above).
    writeFileSync(join(dir, 'pglite.lock'), `${process.ppid} parent`);
    expect(() => lockPgliteDir(dir)).toThrow(/is in use/);
    other(); // not ours any more: left in place
    expect(existsSync(join(dir, 'pglite.lock'))).toBe(true);
  });
});
