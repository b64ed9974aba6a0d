import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Entry = 'console.js' | 'console.css';

/** The console's bundled files, read once at start: only names the build listed are served. */
export interface ConsoleAssets {
  /** The URL path of `entry`, e.g. `/console/assets/console-3F2A.js`. */
  url(entry: Entry): string;
  file(name: string): { body: Buffer; type: string } | undefined;
}

/**
 * scripts/build.mjs writes dist/console/ (content-hashed files + manifest.json). The bundle
 * finds it beside dist/main.mjs or one level up from a chunk; the sources (npm start, tests)
 * find the last build's in dist/.
 */
const CANDIDATES = ['./console/', '../console/', '../../dist/console/'];

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function loadConsoleAssets(): ConsoleAssets {
  const dir = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((d) =>
    existsSync(`${d}manifest.json`),
  );
  const manifest: Record<string, string> =
    dir === undefined ? {} : JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8'));
  const files = new Map(
    Object.values(manifest).map((name) => [
      name,
      {
        body: readFileSync(`${dir}${name}`),
        type: TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream',
      },
    ]),
  );
  return {
    url: (entry) => `/console/assets/${manifest[entry] ?? entry}`,
    file: (name) => files.get(name),
  };
}
