import { randomQueuePrefix } from '../../test/support/database';
import { startSluice } from '../../test/support/processes';
import type { Deployment } from './deployment';
import { BENCH_API_KEY } from './deployment';
import { rssMb } from './proc-stats';

/** The code cap of this scenario's worker; its memory cap is the default, 64 MB. */
const CAP_MS = 1000;
const FOREVER = 'for (;;) {}';
const TRAPS_NEVER_RETURN = `new Proxy({}, { get: () => () => { ${FOREVER} } })`;

/** Hostile code steps, one class of attack each (test/security/ has the variants). */
const HOSTILE_CASES: Record<string, string> = {
  'infinite-loop': `export default () => { ${FOREVER} }`,
  'throws-proxy': `export default () => { throw ${TRAPS_NEVER_RETURN} }`,
  'throws-proxy-top-level': `throw ${TRAPS_NEVER_RETURN};\nexport default () => 1`,
  'error-getter-never-returns': `export default async () => { throw { get message() { ${FOREVER} } } }`,
  'prepare-stack-trace': `Error.prepareStackTrace = () => { ${FOREVER} };\nexport default () => { throw new Error('x') }`,
  'unhandled-proxy-rejection': `export default () => { Promise.reject(${TRAPS_NEVER_RETURN}); return 1 }`,
  'microtasks-after-return': `export default () => { Promise.resolve().then(() => { ${FOREVER} }); return 1 }`,
  'thenable-never-returns': `export default () => ({ then() { ${FOREVER} } })`,
  'never-settles': 'export default () => new Promise(() => {})',
  'atomics-wait-async':
    'export default () => Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(16)), 0, 0, 10)',
  'wasm-memory':
    'export default () => { const k = []; for (let i = 0; i < 4; i++) k.push(new WebAssembly.Memory({ initial: 4096 })); return k.length }',
  'array-bomb': 'export default () => { const k = []; for (;;) k.push(new Array(1e5).fill(7)) }',
  'string-bomb':
    'export default () => { const k = []; for (let i = 0; ; i++) { const s = "x".repeat(1 << 20) + i; s.charCodeAt(3); k.push(s) } }',
  'arraybuffer-bomb':
    'export default () => { const k = []; for (;;) k.push(new ArrayBuffer(1 << 22)) }',
  'intl-bomb':
    'export default () => { const k = []; for (;;) k.push(new Intl.DateTimeFormat("en", { timeZone: "UTC" })) }',
  'resizable-arraybuffer-bomb':
    'export default () => { const k = []; for (;;) k.push(new ArrayBuffer(1 << 22, { maxByteLength: 1 << 30 })) }',
};

const BENIGN = 'export default ({ trigger }) => ({ doubled: trigger.body.n * 2 })';

/**
 * For each hostile case, on one worker of its own (its own queue, the deployment's database
 * and storage): the time from the hostile step's cap (counted from sending its request) until
 * the next benign step on the same worker has succeeded, and the worker's RSS then and 1 s
 * later against its idle RSS.
 */
export async function sandboxRecovery(deployment: Deployment): Promise<Record<string, unknown>[]> {
  const env = {
    ...deployment.env,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_CODE_TIMEOUT_MS: String(CAP_MS),
    SLUICE_WEBHOOK_TIMEOUT_S: '20',
  };
  const app = await startSluice({ ...env, SLUICE_ROLE: 'app', PORT: '0', HOST: '127.0.0.1' });
  const worker = await startSluice({ ...env, SLUICE_ROLE: 'worker' });
  const base = `http://127.0.0.1:${app.port}`;
  const workerPid = worker.child.pid ?? 0;
  const createFlow = async (code: string) => {
    const res = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'sandbox',
        trigger: { type: 'webhook' },
        steps: [{ id: 'main', type: 'code', code }],
      }),
    });
    if (res.status !== 201) throw new Error(`creating a flow answered ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
  const runSync = async (flowId: string, body: unknown) => {
    const res = await fetch(`${base}/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const round = (n: number) => Math.round(n * 10) / 10;

  try {
    const benignId = await createFlow(BENIGN);
    for (let i = 0; i < 20; i++) await runSync(benignId, { n: i });
    await settle(2000);
    const idleRss = rssMb(workerPid);
    const figures: Record<string, unknown>[] = [];
    for (const [name, code] of Object.entries(HOSTILE_CASES)) {
      const hostileId = await createFlow(code);
      const sentAt = performance.now();
      const hostile = await runSync(hostileId, {});
      const hostileMs = performance.now() - sentAt;
      const n = figures.length + 1;
      const next = await runSync(benignId, { n });
      const nextOkAt = performance.now();
      const nextOk =
        next.status === 200 && JSON.stringify(next.body) === JSON.stringify({ doubled: n * 2 });
      const rssAfter = rssMb(workerPid);
      await settle(1000);
      const rssSettled = rssMb(workerPid);
      figures.push({
        scenario: 'sandbox-recovery',
        case: name,
        cap_ms: CAP_MS,
        hostile_status: hostile.status,
        hostile_ms: round(hostileMs),
        next_ok: nextOk,
        next_ok_after_cap_ms: round(nextOkAt - sentAt - CAP_MS),
        idle_rss_mb: idleRss,
        rss_after_mb: rssAfter,
        rss_after_1s_mb: rssSettled,
        rss_after_1s_vs_idle: Math.round((rssSettled / idleRss) * 100) / 100,
        worker_alive: worker.child.exitCode === null && worker.child.signalCode === null,
      });
    }
    return figures;
  } finally {
    await Promise.all([app.stop('SIGKILL'), worker.stop('SIGKILL')]);
  }
}
