import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes';

const run = promisify(execFile);

/** A PostgreSQL cluster of our own in a temp dir, that a test may stop and start at will. */
export interface ThrowawayPostgres {
  port: number;
  /** URL of its `postgres` database, over TCP as the superuser. */
  url: string;
  /** The same over its Unix socket, which always trusts the superuser. */
  socketUrl: string;
  start(): Promise<void>;
  /** Immediate shutdown: connections drop as in a crash or failover. */
  stop(): Promise<void>;
  /**
   * SIGSTOP to the server and every backend: connections stay open and new ones are accepted
   * by the kernel, but nothing answers, as when the host hangs. `resume` sends SIGCONT.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  destroy(): Promise<void>;
}

async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** initdb refuses root, so the cluster runs as the `postgres` OS user when we are root. */
const asOwner = (command: string, args: string[]) =>
  process.getuid?.() === 0
    ? run('runuser', ['-u', 'postgres', '--', command, ...args])
    : run(command, args);

/** Signals the postmaster (first line of postmaster.pid) and its children, by process id. */
async function signalCluster(data: string, signal: NodeJS.Signals): Promise<void> {
  const postmaster = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const { stdout } = await run('pgrep', ['-P', String(postmaster)]).catch(() => ({ stdout: '' }));
  const children = stdout.split('\n').filter(Boolean).map(Number);
  // The postmaster first on SIGSTOP and last on SIGCONT: stopped, it forks no new backend.
  for (const pid of signal === 'SIGSTOP' ? [postmaster, ...children] : [...children, postmaster]) {
    process.kill(pid, signal);
  }
}

/**
 * `hostAuth` is how TCP logins are checked: `trust` (any password), or `scram-sha-256` for a
 * test of what a client sends as its password.
 */
export async function startThrowawayPostgres({
  hostAuth = 'trust',
}: {
  hostAuth?: 'trust' | 'scram-sha-256';
} = {}): Promise<ThrowawayPostgres> {
  const bin = await binDir();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
  await chmod(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  await asOwner(`${bin}/initdb`, [
    '-D',
    data,
    '--auth-local=trust',
    `--auth-host=${hostAuth}`,
    '-U',
    'postgres',
    '--no-sync',
  ]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg: ThrowawayPostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    socketUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    async start() {
      await asOwner(`${bin}/pg_ctl`, [
        '-D',
        data,
        '-o',
        options,
        '-l',
        join(dir, 'log'),
        '-w',
        'start',
      ]);
    },
    async stop() {
      await asOwner(`${bin}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    },
    pause: () => signalCluster(data, 'SIGSTOP'),
    resume: () => signalCluster(data, 'SIGCONT'),
    async destroy() {
      await signalCluster(data, 'SIGCONT').catch(() => {});
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
