import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { NODE_ARGS_BY_ROLE } from '../../runtime/limits';

const BUNDLE = resolve('dist/main.mjs');

export interface SluiceProcess {
  child: ChildProcess;
  /** The HTTP port for app/all roles. */
  port: number;
  /** Everything the process printed on stdout so far. */
  output(): string;
  /** Everything the process printed on stderr so far. */
  errors(): string;
  /** SIGTERM, then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A worker's liveness endpoint on a port of its own unless the test names one: on the default
 * (3001) every worker the suite starts at once, in either vitest worker, raced for one port.
 * A port taken after all only leaves the endpoint off, with a warning.
 */
async function withOwnHealthPort(env: Record<string, string>): Promise<Record<string, string>> {
  if (env.SLUICE_ROLE === 'app' || env.SLUICE_WORKER_HEALTH_PORT !== undefined) return env;
  let port = await freePort();
  // Role all refuses a liveness port equal to PORT, itself perhaps just taken from freePort().
  while (String(port) === env.PORT) port = await freePort();
  return { SLUICE_WORKER_HEALTH_PORT: String(port), ...env };
}

/** Starts `node dist/main.mjs` and resolves once it logs "sluice <role> ready". */
export async function startSluice(
  env: Record<string, string>,
  timeoutMs = 20_000,
  nodeArgs: readonly string[] = [],
): Promise<SluiceProcess> {
  const role = (env.SLUICE_ROLE ?? 'all') as keyof typeof NODE_ARGS_BY_ROLE;
  const roleArgs = NODE_ARGS_BY_ROLE[role] ?? NODE_ARGS_BY_ROLE.all;
  // The flags the container command uses for this role (runtime/limits.ts).
  const child = spawn(process.execPath, [...nodeArgs, ...roleArgs, BUNDLE], {
    env: {
      PATH: process.env.PATH ?? '',
      SLUICE_LOG_LEVEL: 'info',
      ...(await withOwnHealthPort(env)),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`sluice did not become ready:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`sluice exited with ${code} before ready:\n${stdout}\n${stderr}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout
        .split('\n')
        .find((l) => l.includes('ready"') && l.includes('"msg":"sluice'));
      if (line === undefined) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port?: number };
      ready({
        child,
        port: port ?? 0,
        output: () => stdout,
        errors: () => stderr,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null) return child.exitCode;
          child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** Starts `node dist/main.mjs` for a process expected to stop on its own; resolves when it has. */
export async function runSluiceToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const role = (env.SLUICE_ROLE ?? 'all') as keyof typeof NODE_ARGS_BY_ROLE;
  const child = spawn(process.execPath, [...(NODE_ARGS_BY_ROLE[role] ?? []), BUNDLE], {
    env: { PATH: process.env.PATH ?? '', ...(await withOwnHealthPort(env)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

export async function pollJson<T>(
  url: string,
  init: RequestInit,
  until: (body: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(url, init)).json()) as T;
    if (until(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out polling ${url}: ${JSON.stringify(body)}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Run logs are written just after the run is recorded, so poll briefly for the object. */
export async function fetchEventually(url: string, timeoutMs = 5000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url);
    if (res.status === 200 || Date.now() > deadline) return res;
    await new Promise((done) => setTimeout(done, 50));
  }
}
