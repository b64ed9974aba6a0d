import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve, sep } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { NODE_MAJOR } from '../../runtime/limits';
import { startSilentServer } from '../support/silent-server';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** The `node` found on PATH without node_modules/.bin: the machine's own (Node 20 here). */
function systemNode(): { path: string; version: string } | null {
  const PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes(`node_modules${sep}.bin`))
    .join(delimiter);
  const probe = spawnSync('node', ['-p', 'process.execPath + " " + process.versions.node'], {
    env: { PATH },
    encoding: 'utf8',
  });
  if (probe.status !== 0) return null;
  const [path = '', version = ''] = probe.stdout.trim().split(' ');
  return { path, version };
}

describe('the process entry', () => {
  const other = systemNode();

  it.skipIf(other === null || other.version.startsWith(`${NODE_MAJOR}.`))(
    'stops on an unsupported Node.js with one line naming the supported one',
    () => {
      const started = spawnSync(other?.path ?? '', ['--no-node-snapshot', 'dist/main.mjs'], {
        env: { PATH: '', SLUICE_ROLE: 'all' },
        encoding: 'utf8',
      });

      expect(started.status).toBe(1);
      expect(started.stderr.trim().split('\n')).toEqual([
        `sluice runs on Node.js 24 LTS (24.11 or a later 24.x), not v${other?.version}`,
      ]);
    },
  );
});

describe('on Node 24', () => {
  it('runs the tests, and every process they start, on the node package the image matches', () => {
    expect(process.versions.node).toBe(pkg.devDependencies.node);
    expect(realpathSync(process.execPath).startsWith(`${resolve('node_modules/node')}${sep}`)).toBe(
      true,
    );
  });

  it('creates AWS SDK clients without the Node version support warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      new S3Client({ region: 'eu-west-1' }).destroy();
      new CloudWatchClient({ region: 'eu-west-1' }).destroy();
      await new Promise((done) => setImmediate(done));
    } finally {
      process.off('warning', onWarning);
    }

    expect(warnings.filter((warning) => warning.includes('NodeVersionSupportWarning'))).toEqual([]);
  });
});

describe('a setting the process finds unusable only when it starts', () => {
  /** Starts the built entry in embedded mode; resolves with its status and output when it ends. */
  function start(env: Record<string, string>) {
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, ['--no-node-snapshot', 'dist/main.mjs'], {
        env: {
          PATH: process.env.PATH ?? '',
          SLUICE_ROLE: 'all',
          SLUICE_WORKER_HEALTH_PORT: '0',
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      // A process that does not stop would serve: the test fails on its status. Embedded
      // start-up (PGlite and its migrations) took 23-30 s under load in a full suite run, so
      // the limit sits below the tests' 60 s rather than at 30 s.
      const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        done({ status, stdout, stderr });
      });
    });
  }

  it('stops with one line naming SLUICE_DATA_DIR when it is not a writable directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-data-dir-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    try {
      const started = await start({ SLUICE_DATA_DIR: file, PORT: '0', HOST: '127.0.0.1' });
      expect(started.status).toBe(1);
      expect(started.stderr.trim().split('\n')).toEqual([
        `invalid environment: SLUICE_DATA_DIR ${JSON.stringify(file)} cannot be used as a writable directory (ENOTDIR)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ['a port nothing listens on', 'closed', 'ECONNREFUSED, nothing listens there'],
    ['a database that does not exist', 'missing', 'the database does not exist (3D000)'],
    [
      'a server that accepts and never answers',
      'silent',
      'no answer within 2 s (a firewall that drops the connection, or a server that hangs)',
    ],
    [
      'a server without TLS when sslmode asks for it',
      'no-tls',
      'the server does not offer TLS, which sslmode or SLUICE_DB_CA asks for',
    ],
  ])(
    'stops with one line naming DATABASE_URL for %s',
    async (_what, kind, reason) => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-db-url-'));
      const probe = createServer();
      await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
      const closedPort = (probe.address() as AddressInfo).port;
      await new Promise((done) => probe.close(done));
      const silent = await startSilentServer();
      const urls: Record<string, string> = {
        closed: `postgres://postgres@127.0.0.1:${closedPort}/x`,
        missing: 'postgres://postgres@127.0.0.1:5432/sluice_no_such_database',
        silent: `postgres://postgres@127.0.0.1:${silent.port}/x`,
        'no-tls': 'postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full',
      };
      const url = urls[kind] ?? '';
      try {
        const started = await start({
          SLUICE_DATA_DIR: dir,
          DATABASE_URL: url,
          PORT: '0',
          HOST: '127.0.0.1',
        });
        expect(started.status).toBe(1);
        const { hostname, port, pathname } = new URL(url);
        expect(started.stderr.trim().split('\n')).toEqual([
          `cannot open the database DATABASE_URL names (${hostname}:${port || '5432'}${pathname}): ${reason}`,
        ]);
      } finally {
        await silent.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it('stops with one line naming REDIS_URL when nothing answers there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-url-'));
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((done) => probe.close(done));
    try {
      const started = await start({
        SLUICE_DATA_DIR: dir,
        REDIS_URL: `redis://127.0.0.1:${closedPort}`,
        PORT: '0',
        HOST: '127.0.0.1',
      });
      expect(started.status).toBe(1);
      expect(started.stderr.trim().split('\n')).toEqual([
        `cannot reach the Redis REDIS_URL names (127.0.0.1:${closedPort}): ECONNREFUSED, nothing listens there`,
      ]);
      expect(started.stdout).not.toContain('ready');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ['a port that is taken', 'taken', 'EADDRINUSE: the port is taken'],
    [
      'a HOST that is not this machine',
      '203.0.113.7',
      'EADDRNOTAVAIL: HOST is not an address of this machine',
    ],
  ])(
    'stops with one line naming HOST and PORT for %s',
    async (_what, host, reason) => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-listen-'));
      const taken = createServer();
      await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
      const port = String((taken.address() as AddressInfo).port);
      try {
        const started = await start({
          SLUICE_DATA_DIR: dir,
          HOST: host === 'taken' ? '127.0.0.1' : host,
          PORT: host === 'taken' ? port : '0',
        });
        expect(started.status).toBe(1);
        expect(started.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            /^invalid environment: HOST "[^"]+" and PORT \d+ cannot be listened on \(/,
          ),
        ]);
        expect(started.stderr).toContain(reason);
        expect(started.stdout).not.toContain('ready');
      } finally {
        taken.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
