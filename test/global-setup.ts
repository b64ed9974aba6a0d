import { execFileSync } from 'node:child_process';
import { Socket } from 'node:net';
import { NODE_MAJOR } from '../runtime/limits';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.connect(port, '127.0.0.1');
  });
}

/**
 * Fails fast when the tests run on another Node than the image's (the processes they start
 * run on process.execPath), or, naming the service, when one the tests need is down; then
 * builds the bundle once, so the end-to-end tests run the same dist/main.mjs the Dockerfile ships.
 */
export default async function setup(): Promise<void> {
  if (process.versions.node.split('.')[0] !== String(NODE_MAJOR)) {
    throw new Error(
      `tests run on Node ${NODE_MAJOR}, the node package that npm test puts first on PATH (this is ${process.version})`,
    );
  }
  const missing: string[] = [];
  if (!(await reachable(5432))) missing.push('PostgreSQL on 127.0.0.1:5432');
  if (!(await reachable(6379))) missing.push('Redis on 127.0.0.1:6379');
  if (missing.length > 0) {
    throw new Error(`tests need ${missing.join(' and ')}; start them as .ci/run does`);
  }
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
