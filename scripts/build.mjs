// Bundles the runtime into dist/main.mjs. Native and WASM-carrying packages stay external:
// the Dockerfile installs exactly those from dist/package.json.
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { build } from 'esbuild';

// Bull Board serves its UI files from its package directory, so it stays a real package too.
const external = [
  'isolated-vm',
  '@electric-sql/pglite',
  'pg-native',
  '@bull-board/api',
  '@bull-board/hono',
];
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: { main: 'runtime/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // Roles are imported dynamically; each process parses only the chunks its role needs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  external,
  // Bundled CommonJS packages still call require(); give ESM one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
});
cpSync('runtime/db/migrations', 'dist/migrations', { recursive: true });

const runtimeDeps = Object.fromEntries(
  external.filter((name) => pkg.dependencies[name]).map((name) => [name, pkg.dependencies[name]]),
);
writeFileSync(
  'dist/package.json',
  `${JSON.stringify({ name: 'sluice-dist', private: true, type: 'module', dependencies: runtimeDeps }, null, 2)}\n`,
);
const chunks = readdirSync('dist/chunks').filter((name) => name.endsWith('.mjs'));
const bytes = ['dist/main.mjs', ...chunks.map((name) => `dist/chunks/${name}`)].reduce(
  (sum, path) => sum + statSync(path).size,
  0,
);
console.log(JSON.stringify({ bundle: 'dist/main.mjs', chunks: chunks.length, bytes }));
