import { request } from 'node:http';
import { WORKER_HEALTH_PORT } from './limits';

/**
 * dist/health-probe.mjs, the worker container's health check (WORKER_HEALTH_PROBE_COMMAND):
 * exits 0 when the worker's liveness endpoint answers 200 within PROBE_TIMEOUT_MS, else 1.
 * Its own small entry, so that a check every few seconds does not load the runtime.
 *
 * The one reader of process.env besides runtime/env.ts: it needs one variable, and the worker
 * beside it has already validated that same variable at start-up.
 */
const PROBE_TIMEOUT_MS = 2000;

const raw = process.env.SLUICE_WORKER_HEALTH_PORT;
const port = raw === undefined || raw === '' ? WORKER_HEALTH_PORT : Number(raw);

function verdict(healthy: boolean, why: string): never {
  process.stdout.write(`${healthy ? 'healthy' : 'unhealthy'}: ${why}\n`);
  process.exit(healthy ? 0 : 1);
}

if (port === 0) verdict(true, 'SLUICE_WORKER_HEALTH_PORT=0 turns worker liveness off');

const probe = request(
  { host: '127.0.0.1', port, path: '/healthz', timeout: PROBE_TIMEOUT_MS },
  (response) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
    });
    response.on('end', () => verdict(response.statusCode === 200, body.slice(0, 200)));
  },
);
probe.on('timeout', () => {
  probe.destroy();
  verdict(false, `no answer within ${PROBE_TIMEOUT_MS} ms (the event loop is wedged)`);
});
probe.on('error', (error) => verdict(false, error.message));
probe.end();
