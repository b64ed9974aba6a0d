// npm run bench -- [--workers 4] [--duration 15] [--connections 10,50] [--drain 2000]
//                  [--smoke] [--no-write] [--no-build]
// Prints one JSON line per figure, writes bench-results/<date>.json and docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Deployment, runCounts, startDeployment, waitForDrain } from './deployment';
import { runLoad } from './load';
import { bundleBytes, dispatchLatency, startupFigures } from './micro';
import { writeReports } from './report';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '10,50' },
    drain: { type: 'string', default: '2000' },
    smoke: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});

const smoke = values.smoke ?? false;
const workers = smoke ? 1 : Number(values.workers);
const durationS = smoke ? 2 : Number(values.duration);
const warmupS = smoke ? 0.5 : 3;
const connections = smoke ? [10] : (values.connections ?? '').split(',').map(Number);
const drainRuns = smoke ? 20 : Number(values.drain);
const startupSamples = smoke ? 1 : 5;

const standard = JSON.parse(readFileSync('scripts/bench/flows/standard.json', 'utf8'));
const httpLoop = JSON.parse(readFileSync('scripts/bench/flows/http-loop.json', 'utf8'));
const figures: Record<string, unknown>[] = [];

function emit(figure: Record<string, unknown>) {
  figures.push(figure);
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

function cpuDelta(deployment: Deployment, before: ReturnType<Deployment['usage']>) {
  const after = deployment.usage();
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    app_cpu_s: round(after.app_cpu_s - before.app_cpu_s),
    workers_cpu_s: round(after.workers_cpu_s - before.workers_cpu_s),
    app_peak_rss_mb: after.app_peak_rss_mb,
    workers_peak_rss_mb: after.workers_peak_rss_mb,
  };
}

/**
 * The warm-up measures the rate; the measured run then sends a fixed number of requests
 * sized to last about `durationS`. Every request completes, so the 2xx count and the runs
 * succeeded in the database must match exactly (a timed stop would cut requests mid-flight).
 */
async function timedAmount(url: string, body: string, c: number): Promise<number> {
  const warmup = await runLoad({ url, body, connections: c, durationS: warmupS });
  return Math.max(c, Math.round(warmup.req_per_s * durationS));
}

async function syncScenario(
  deployment: Deployment,
  scenario: string,
  definition: unknown,
  body: string,
  c: number,
) {
  const warmupFlowId = await deployment.createFlow(definition);
  const amount = await timedAmount(`${deployment.base}/v1/webhooks/${warmupFlowId}/sync`, body, c);
  await waitForDrain(deployment.sql, warmupFlowId);
  const flowId = await deployment.createFlow(definition);
  const before = deployment.usage();
  const load = await runLoad({
    url: `${deployment.base}/v1/webhooks/${flowId}/sync`,
    body,
    connections: c,
    amount,
  });
  const usage = cpuDelta(deployment, before);
  await waitForDrain(deployment.sql, flowId);
  const counts = await runCounts(deployment.sql, flowId);
  emit({
    scenario,
    connections: c,
    workers,
    ...load,
    ...usage,
    succeeded: counts.succeeded ?? 0,
    ...(await dispatchLatency(deployment.sql, flowId)),
  });
}

async function asyncAccept(deployment: Deployment, c: number) {
  const body = '{"a":1,"b":2}';
  const warmupFlowId = await deployment.createFlow(standard);
  const amount = await timedAmount(`${deployment.base}/v1/webhooks/${warmupFlowId}`, body, c);
  await waitForDrain(deployment.sql, warmupFlowId);
  const flowId = await deployment.createFlow(standard);
  const url = `${deployment.base}/v1/webhooks/${flowId}`;
  const before = deployment.usage();
  const load = await runLoad({ url, body, connections: c, amount });
  const usage = cpuDelta(deployment, before);
  await waitForDrain(deployment.sql, flowId);
  const counts = await runCounts(deployment.sql, flowId);
  emit({
    scenario: 'async-accept',
    connections: c,
    workers,
    ...load,
    ...usage,
    succeeded: counts.succeeded ?? 0,
  });
}

/**
 * Dispatch latency on idle workers: one request at a time, so no run waits behind another and
 * the figure is the queue hop itself (commit → job → worker → first step), not backlog.
 */
async function idleDispatch(deployment: Deployment) {
  const flowId = await deployment.createFlow(standard);
  const url = `${deployment.base}/v1/webhooks/${flowId}/sync`;
  const load = await runLoad({
    url,
    body: '{"a":1,"b":2}',
    connections: 1,
    amount: smoke ? 20 : 300,
  });
  emit({
    scenario: 'dispatch-idle',
    connections: 1,
    workers,
    requests: load.requests,
    p50_ms: load.p50_ms,
    p99_ms: load.p99_ms,
    ...(await dispatchLatency(deployment.sql, flowId)),
  });
}

async function asyncDrain(deployment: Deployment) {
  const flowId = await deployment.createFlow(standard);
  const started = performance.now();
  const before = deployment.usage();
  const load = await runLoad({
    url: `${deployment.base}/v1/webhooks/${flowId}`,
    body: '{"a":1,"b":2}',
    connections: Math.min(50, drainRuns),
    amount: drainRuns,
  });
  await waitForDrain(deployment.sql, flowId);
  const seconds = (performance.now() - started) / 1000;
  const counts = await runCounts(deployment.sql, flowId);
  emit({
    scenario: 'async-drain',
    connections: Math.min(50, drainRuns),
    workers,
    runs: drainRuns,
    accepted: load.ok_2xx,
    drain_s: Math.round(seconds * 100) / 100,
    runs_per_s: Math.round((drainRuns / seconds) * 10) / 10,
    ...cpuDelta(deployment, before),
    succeeded: counts.succeeded ?? 0,
  });
}

if (!values['no-build']) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const deployment = await startDeployment(workers);
try {
  const standardBody = '{"a":1,"b":2}';
  const httpBody = JSON.stringify({
    a: 1,
    stubUrl: deployment.stubUrl,
    items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  });
  for (const c of connections) await syncScenario(deployment, 'sync', standard, standardBody, c);
  for (const c of connections) await asyncAccept(deployment, c);
  await asyncDrain(deployment);
  await idleDispatch(deployment);
  await syncScenario(deployment, 'sync-http-loop', httpLoop, httpBody, connections.at(-1) ?? 10);
  emit({
    scenario: 'micro',
    ...(await startupFigures(deployment.env, startupSamples)),
    bundle_bytes: bundleBytes(),
  });
} finally {
  await deployment.close();
}
if (!values['no-write']) writeReports(figures, { workers, durationS, smoke });
