import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface EmbeddedSluice {
  base: string;
  /** The key the process generated on its first start; null when the data dir had one. */
  printedKey: string | null;
  stop(): Promise<void>;
}

/**
 * `node dist/main.mjs` in embedded mode (PGlite, in-process queue, local files) on `dataDir`,
 * resolved once it logs that it is ready.
 */
export function startEmbedded(dataDir: string, port: number): Promise<EmbeddedSluice> {
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--no-node-snapshot', resolve('dist/main.mjs')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_PUBLIC_URL: base,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`sluice did not become ready in 60 s:\n${out}`));
    }, 60_000);
    child.once('exit', (code) => fail(new Error(`sluice exited with ${code}:\n${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!/"msg":"sluice \w+ ready"/.test(out)) return;
      clearTimeout(timer);
      ready({
        base,
        printedKey: /Sluice API key \(shown once, save it\): (\S+)/.exec(out)?.[1] ?? null,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

/** Signs in as the console's form does; returns the `sluice_session=…` cookie pair. */
export async function consoleCookie(base: string, apiKey: string): Promise<string> {
  const res = await fetch(`${base}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ apiKey }),
  });
  const cookie = /^(sluice_session=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 303 || cookie === undefined) throw new Error(`sign-in answered ${res.status}`);
  return cookie;
}
