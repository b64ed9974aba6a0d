// Bundles the runtime into dist/main.mjs, and the worker's container health check into
// dist/health-probe.mjs (runtime/limits.ts WORKER_HEALTH_PROBE_COMMAND). Native and WASM-carrying packages stay external:
// the Dockerfile installs exactly those with `npm ci` from dist/package.json and
// dist/package-lock.json, a lockfile cut from ours (the versions and integrity hashes the tests ran).
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

// Packages left out of the bundle (scripts/bundle-externals.json, which the test of what loads at
// start-up builds with too): native and WASM-carrying ones, and Bull Board, which serves its UI
// files from its package directory, so it stays a real package too.
const external = JSON.parse(readFileSync('scripts/bundle-externals.json', 'utf8'));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: { main: 'runtime/main.ts', 'health-probe': 'runtime/health-probe.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // Roles are imported dynamically; each process parses only the chunks its role needs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node24',
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

// The console's browser code and styles: content-hashed names (served with a year-long,
// immutable cache) and a manifest the server reads to link them. No inline script: strict CSP.
const consoleBuild = await build({
  entryPoints: {
    console: 'runtime/console/client/console.ts',
    'console-style': 'runtime/console/client/console.css',
  },
  outdir: 'dist/console',
  entryNames: '[name]-[hash]',
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  minify: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const consoleManifest = {};
for (const [output, meta] of Object.entries(consoleBuild.metafile.outputs)) {
  const name = output.slice('dist/console/'.length);
  if (meta.entryPoint?.endsWith('.ts')) consoleManifest['console.js'] = name;
  if (meta.entryPoint?.endsWith('.css')) consoleManifest['console.css'] = name;
}
writeFileSync('dist/console/manifest.json', `${JSON.stringify(consoleManifest, null, 2)}\n`);

const runtimeDeps = Object.fromEntries(
  external.filter((name) => pkg.dependencies[name]).map((name) => [name, pkg.dependencies[name]]),
);
const lockedPackages = lockedClosure(lock.packages, Object.keys(runtimeDeps));
const distPackage = {
  name: 'sluice-dist',
  private: true,
  type: 'module',
  engines: pkg.engines,
  dependencies: runtimeDeps,
  // Our decisions for the packages kept: isolated-vm loads its prebuild, nothing compiles.
  allowScripts: Object.fromEntries(
    Object.entries(pkg.allowScripts).filter(([name]) => lockedPackages[`node_modules/${name}`]),
  ),
};
writeFileSync('dist/package.json', `${JSON.stringify(distPackage, null, 2)}\n`);
writeFileSync(
  'dist/package-lock.json',
  `${JSON.stringify(
    {
      name: distPackage.name,
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: distPackage.name, engines: pkg.engines, dependencies: runtimeDeps },
        ...lockedPackages,
      },
    },
    null,
    2,
  )}\n`,
);
const chunks = readdirSync('dist/chunks').filter((name) => name.endsWith('.mjs'));
const bytes = ['dist/main.mjs', ...chunks.map((name) => `dist/chunks/${name}`)].reduce(
  (sum, path) => sum + statSync(path).size,
  0,
);
console.log(JSON.stringify({ bundle: 'dist/main.mjs', chunks: chunks.length, bytes }));

/**
 * The entries of our lockfile that `names` need: each package, what it depends on (regular,
 * optional when locked, and non-optional peers), found as Node finds it from where it sits.
 */
function lockedClosure(packages, names) {
  const kept = {};
  const resolve = (from, name) => {
    for (let base = from; ; ) {
      const path = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (packages[path]) return path;
      if (base === '') return undefined;
      const parent = base.lastIndexOf('/node_modules/');
      base = parent === -1 ? '' : base.slice(0, parent);
    }
  };
  const visit = (from, name, optional) => {
    const path = resolve(from, name);
    if (path === undefined) {
      if (optional) return;
      throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}`);
    }
    if (kept[path]) return;
    const { dev, devOptional, ...entry } = packages[path];
    kept[path] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) {
      if (!entry.peerDependenciesMeta?.[dep]?.optional) visit(path, dep, false);
    }
  };
  for (const name of names) visit('', name, false);
  return Object.fromEntries(Object.entries(kept).sort(([a], [b]) => a.localeCompare(b)));
}
