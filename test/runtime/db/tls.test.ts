import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../../runtime/db/client';
import {
  DatabaseUnreachableError,
  unreachableCode,
} from '../../../runtime/db/database-unreachable-error';
import { rdsCaBundle, verifyFull } from '../../../runtime/db/tls';

const run = promisify(execFile);

/**
 * A stand-in for a PostgreSQL server's TLS start: it answers the client's SSLRequest with 'S',
 * completes the TLS handshake with `cert`, and records the first message the client sends
 * inside TLS (the startup message, which names the user). Verification happens in the client,
 * so this is all a test of it needs; the shared PostgreSQL's ssl setting is not ours to change.
 */
interface TlsStandIn {
  port: number;
  /** Startup messages received over a completed TLS session. */
  startups: string[];
  close(): Promise<void>;
}

async function startTlsStandIn(key: string, cert: string): Promise<TlsStandIn> {
  const startups: string[] = [];
  const server: Server = createServer((socket) => {
    socket.once('data', () => {
      socket.write('S');
      const tls = new TLSSocket(socket, { isServer: true, key, cert });
      tls.on('error', () => undefined);
      tls.once('data', (startup) => {
        startups.push(startup.toString('latin1'));
        tls.destroy();
      });
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    startups,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

let dir: string;
const pem: Record<string, string> = {};

/** A test CA, a server certificate it signs for `localhost`, and one it signs for another name. */
// biome-ignore format: one openssl option and its value per pair reads best
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
  const at = (name: string) => join(dir, name);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req', '-x509', ...newKey, '-days', '1', '-subj', '/CN=Sluice Test CA',
    '-keyout', at('ca.key'), '-out', at('ca.crt'),
  ]);
  for (const [name, host] of [['localhost', 'localhost'], ['elsewhere', 'db.elsewhere.test']]) {
    await run('openssl', [
      'req', '-x509', ...newKey, '-days', '1', '-subj', `/CN=${host}`,
      '-addext', `subjectAltName=DNS:${host}`, '-CA', at('ca.crt'), '-CAkey', at('ca.key'),
      '-keyout', at(`${name}.key`), '-out', at(`${name}.crt`),
    ]);
  }
  for (const name of ['ca.crt', 'localhost.key', 'localhost.crt', 'elsewhere.key', 'elsewhere.crt']) {
    pem[name] = await readFile(at(name), 'utf8');
  }
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Connects as the runtime does with SLUICE_DB_CA set, to a stand-in presenting `server`'s
 * certificate; resolves with the pool's error (or 'connected') and what the stand-in received.
 */
async function connectThrough(
  server: 'localhost' | 'elsewhere',
  ca: readonly string[],
  query = '',
): Promise<{ outcome: string; startups: string[]; startupLine: string | null }> {
  const standIn = await startTlsStandIn(pem[`${server}.key`] ?? '', pem[`${server}.crt`] ?? '');
  const database = connectPostgres({
    url: `postgres://sluice_app@localhost:${standIn.port}/sluice${query}`,
    poolSize: 1,
    idleTimeoutMs: 1000,
    ssl: verifyFull(ca),
  });
  try {
    await database.ping(5000);
    return { outcome: 'connected', startups: standIn.startups, startupLine: null };
  } catch (error) {
    // What start-up would print, had this been DATABASE_URL: one line, or null for a stack.
    const code = unreachableCode(error);
    const startupLine =
      code === null
        ? null
        : new DatabaseUnreachableError('DATABASE_URL', 'postgres://db:5432/sluice', code).message;
    return { outcome: (error as Error).message, startups: standIn.startups, startupLine };
  } finally {
    await database.close();
    await standIn.close();
  }
}

const testCa = () => [pem['ca.crt'] ?? ''];

describe('database TLS with SLUICE_DB_CA=rds (verify-full)', () => {
  it('refuses a server whose certificate the RDS CA bundle did not sign', async () => {
    const { outcome, startups, startupLine } = await connectThrough(
      'localhost',
      await rdsCaBundle(),
    );
    expect(outcome).toMatch(/^unable to verify the first certificate/);
    expect(startups).toEqual([]);
    expect(startupLine).toBe(
      "cannot open the database DATABASE_URL names (db:5432/sluice): the server's TLS certificate was refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE); see SLUICE_DB_CA and sslmode",
    );
  });

  it('refuses it even when the URL asks for no verification', async () => {
    const refused = await connectThrough('localhost', await rdsCaBundle(), '?sslmode=no-verify');
    expect(refused.outcome).toMatch(/^unable to verify the first certificate/);
    expect(refused.startups).toEqual([]);
  });

  it('refuses a certificate from a trusted CA that names another host', async () => {
    const { outcome, startups, startupLine } = await connectThrough('elsewhere', testCa());
    expect(outcome).toMatch(/does not match certificate's altnames/);
    expect(startups).toEqual([]);
    expect(startupLine).toBe(
      "cannot open the database DATABASE_URL names (db:5432/sluice): the server's TLS certificate was refused (ERR_TLS_CERT_ALTNAME_INVALID); see SLUICE_DB_CA and sslmode",
    );
  });

  it('logs in over TLS to a server the CA signed for the host it dialed', async () => {
    const { startups } = await connectThrough('localhost', testCa());
    expect(startups).toHaveLength(1);
    expect(startups[0]).toContain('sluice_app');
  });

  it('ships the Amazon RDS root CAs', async () => {
    const bundle = await rdsCaBundle();
    expect(bundle.length).toBeGreaterThan(10);
    expect(bundle.every((cert) => cert.startsWith('-----BEGIN CERTIFICATE-----'))).toBe(true);
  });
});
