import nodeModule from 'node:module';
import { NODE_MAJOR, NODE_MIN_MINOR } from './limits';

/**
 * The process entry. It refuses an unsupported Node.js in one line before anything else is
 * loaded, turns on the module compile cache, and only then imports the runtime, so every module
 * after this one is compiled from the cache when it holds it (NODE_COMPILE_CACHE names the
 * directory, os.tmpdir()/node-compile-cache by default; NODE_DISABLE_COMPILE_CACHE=1 turns it off).
 */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major !== NODE_MAJOR || minor < NODE_MIN_MINOR) {
  process.stderr.write(
    `sluice runs on Node.js ${NODE_MAJOR} LTS (${NODE_MAJOR}.${NODE_MIN_MINOR} or a later ${NODE_MAJOR}.x), not ${process.version}\n`,
  );
  process.exit(1);
}
nodeModule.enableCompileCache();
await import('./start');
