import { randomQueuePrefix } from '../../test/support/database';
import { type SluiceProcess, startSluice } from '../../test/support/processes';
import { startThrowawayRedis } from '../../test/support/throwaway-redis';
import { BENCH_API_KEY, type Deployment } from './deployment';

/**
 * The latency promises the tests only bound loosely (a shared 2-core box makes tight bounds
 * flaky), measured on processes of this scenario's own: two APPs publishing queue depth every
 * second, workers, and a Redis of its own that it stops; the deployment's PostgreSQL and S3.
 */
const METRICS_INTERVAL_MS = 1000;
const SAMPLES = 10;
const REDIS_OUTAGE_MS = 3000;

const busyFor = (ms: number) =>
  `export default () => { const end = Date.now() + ${ms}; while (Date.now() < end) {} return 1 }`;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const round = (n: number) => Math.round(n);

/** Polls `read` until it returns a value, or throws naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  read: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`recovery bench: ${what} did not happen`);
    await sleep(10);
  }
}

/** Epoch ms of the first log line of `process` matching `match` after `after`, if any. */
function loggedAt(process: SluiceProcess, match: (line: string) => boolean, after = 0) {
  for (const line of process.output().split('\n')) {
    if (!match(line)) continue;
    const at = Date.parse((JSON.parse(line) as { time?: string }).time ?? '');
    if (at > after) return at;
  }
  return undefined;
}

/** Epoch ms of the first queue-depth publication (EMF) of `app` after `after`, if any. */
function depthPublishedAt(app: SluiceProcess, after: number) {
  for (const line of app.output().split('\n')) {
    if (!line.startsWith('{"_aws"') || !line.includes('"QueueWaiting"')) continue;
    const at = (JSON.parse(line) as { _aws: { Timestamp: number } })._aws.Timestamp;
    if (at > after) return at;
  }
  return undefined;
}

export async function recoveryLatencies(
  deployment: Deployment,
): Promise<Record<string, unknown>[]> {
  const redis = await startThrowawayRedis();
  const env = {
    ...deployment.env,
    REDIS_URL: redis.url,
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    SLUICE_METRICS: 'emf',
    SLUICE_METRICS_INTERVAL_S: String(METRICS_INTERVAL_MS / 1000),
  };
  const startApp = (name: string) =>
    startSluice({
      ...env,
      SLUICE_ROLE: 'app',
      SLUICE_INSTANCE_ID: name,
      PORT: '0',
      HOST: '127.0.0.1',
    });
  const apps = [await startApp('recovery-a'), await startApp('recovery-b')];
  const workers = [
    await startSluice({ ...env, SLUICE_ROLE: 'worker', SLUICE_DRAIN_TIMEOUT_S: '1' }),
  ];
  let base = `http://127.0.0.1:${apps[0]?.port}`;
  const createFlow = async (code: string) => {
    const res = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'recovery',
        trigger: { type: 'webhook' },
        steps: [{ id: 'main', type: 'code', code }],
      }),
    });
    if (res.status !== 201) throw new Error(`creating a flow answered ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
  const webhook = async (flowId: string, sync: boolean) => {
    const res = await fetch(`${base}/v1/webhooks/${flowId}${sync ? '/sync' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return { status: res.status, body: (await res.json()) as { runId?: string } };
  };
  const run = async (runId: string) =>
    (
      await deployment.sql.query<{
        status: string;
        attempt: number;
        started_at: Date | null;
        finished_at: Date | null;
      }>('select status, attempt, started_at, finished_at from runs where id = $1', [runId])
    ).rows[0];

  const figures: Record<string, unknown>[] = [];
  const emit = (figure: string, ms: number, promise: string) =>
    figures.push({ scenario: 'recovery', figure, ms: round(ms), promise });
  try {
    // A sync webhook whose run fails answers as soon as it fails, never at the timeout.
    const failing = await createFlow("export default () => { throw new Error('boom') }");
    for (let i = 0; i < 3; i++) await webhook(failing, true);
    const answers: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const sentAt = performance.now();
      const { status } = await webhook(failing, true);
      if (status !== 500) throw new Error(`a failing sync run answered ${status}`);
      answers.push(performance.now() - sentAt);
    }
    answers.sort((a, b) => a - b);
    emit(
      'sync webhook: 500 after a failed code step, median of 10',
      answers[SAMPLES / 2] ?? 0,
      'at once, not at the timeout; the tests allow 1 s (their webhook timeout)',
    );
    emit(
      'sync webhook: 500 after a failed code step, slowest of 10',
      answers.at(-1) ?? 0,
      'at once, not at the timeout; the tests allow 1 s (their webhook timeout)',
    );

    // Drain deadline: the run in hand goes back to the head of the queue for a standby.
    const slow = await createFlow(busyFor(3000));
    const accepted = await webhook(slow, false);
    const runId = accepted.body.runId ?? '';
    await until(
      'the slow run start',
      async () => ((await run(runId))?.status === 'running' ? true : undefined),
      10_000,
    );
    const draining = workers.splice(0, 1)[0];
    workers.push(await startSluice({ ...env, SLUICE_ROLE: 'worker' }));
    await draining?.stop('SIGTERM');
    const handedBackAt = await until(
      'the hand-over log line',
      () =>
        draining && loggedAt(draining, (line) => line.includes('runs handed back to the queue')),
      5000,
    );
    const reclaimed = await until(
      'the second claim',
      async () => {
        const row = await run(runId);
        return row?.attempt === 2 && row.started_at ? row.started_at.getTime() : undefined;
      },
      30_000,
    );
    emit(
      'drain deadline: hand-over to the standby worker claiming the run',
      reclaimed - handedBackAt,
      'README: handed back to the head of the queue; the tests allow 20 s',
    );

    // Depth publisher: SIGKILL the instance holding the lock; the other publishes next.
    await sleep(2 * METRICS_INTERVAL_MS);
    const [holder, standby] =
      (apps[0] && depthPublishedAt(apps[0], Date.now() - 2 * METRICS_INTERVAL_MS)) !== undefined
        ? [apps[0], apps[1]]
        : [apps[1], apps[0]];
    await holder?.stop('SIGKILL');
    const killedAt = Date.now();
    const takenOver = await until(
      'the standby publication',
      () => standby && depthPublishedAt(standby, killedAt),
      20_000,
    );
    emit(
      'depth publisher: killed holder to the standby publishing',
      takenOver - killedAt,
      'lock TTL 1.5 intervals + 0.25 (1.75 s at 1 s); the tests allow 10 intervals',
    );
    base = `http://127.0.0.1:${standby?.port}`;

    // Redis gone for 3 s (no persistence), then back: a new webhook's run finishes.
    const quick = await createFlow('export default () => 1');
    await redis.stop();
    await sleep(REDIS_OUTAGE_MS);
    await redis.start();
    const returnedAt = Date.now();
    const resumedRun = await until(
      'an accepted webhook',
      async () => {
        const { status, body } = await webhook(quick, false);
        return status === 202 ? body.runId : undefined;
      },
      30_000,
    );
    const finishedAt = await until(
      'the run after Redis returned',
      async () => {
        const row = await run(resumedRun);
        return row?.status === 'succeeded' && row.finished_at
          ? row.finished_at.getTime()
          : undefined;
      },
      30_000,
    );
    emit(
      'Redis back after 3 s: webhook accepted and its run finished',
      finishedAt - returnedAt,
      'README: within 5 s; the test asserts 5 s for a worker alone',
    );
    return figures;
  } finally {
    await Promise.all([...apps, ...workers].map((p) => p.stop('SIGKILL')));
    await redis.stop();
  }
}
