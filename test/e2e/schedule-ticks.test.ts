import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type SluiceProcess, startSluice } from '../support/processes';
import { QUEUE_BACKENDS, type QueueBackendEnv, startQueueBackend } from '../support/queue-backends';
import { querySql } from '../support/sql';

/**
 * Two APP processes and a worker from the bundle, on each queue, firing a schedule that ticks
 * every second for 60 s while each APP is restarted once (one SIGTERM, one SIGKILL).
 */
const API_KEY = 'sk_e2e_schedule_ticks_key_0123456789';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
const TEST_SECONDS = 60;

describe.each(QUEUE_BACKENDS)('schedule ticks across two APPs on %s', (backend) => {
  let database: TestDatabase;
  let queue: QueueBackendEnv;
  let dataDir: string;
  let shared: Record<string, string>;
  const started: SluiceProcess[] = [];

  const startApp = async () => {
    const app = await startSluice({
      ...shared,
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_API_KEY: API_KEY,
    });
    started.push(app);
    return app;
  };

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    queue = await startQueueBackend(backend);
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-schedule-'));
    shared = {
      DATABASE_URL: database.url,
      ...queue.env,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_LOCAL_SIGNING_SECRET: 'a-signing-secret-for-this-test-only-0123',
      SLUICE_SCHEDULE_MIN_INTERVAL_S: '1',
    };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((process) => process.stop('SIGKILL')));
    await queue?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'makes exactly one run per tick, through a restart of each APP',
    async () => {
      let [first, second] = await Promise.all([startApp(), startApp()]);
      started.push(await startSluice({ ...shared, SLUICE_ROLE: 'worker' }));
      const created = await fetch(`http://127.0.0.1:${first?.port}/v1/flows`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          name: 'every-second',
          trigger: { type: 'schedule', cron: '* * * * * *', timezone: 'Europe/Berlin' },
          steps: [
            {
              id: 'at',
              type: 'code',
              code: 'export default ({ trigger }) => ({ at: trigger.scheduledAt })',
            },
          ],
        }),
      });
      expect(created.status).toBe(201);
      const { id: flowId } = (await created.json()) as { id: string };
      const t0 = Date.now();

      await sleep((TEST_SECONDS / 3) * 1000);
      // A graceful restart: the lease is released, and the other APP (or the new one) takes it.
      await first?.stop('SIGTERM');
      first = await startApp();
      await sleep((TEST_SECONDS / 3) * 1000);
      // A crash: a Redis lease lapses after its TTL, a PostgreSQL one when the session dies.
      await second?.stop('SIGKILL');
      second = await startApp();
      await sleep(Math.max(0, t0 + TEST_SECONDS * 1000 - Date.now()));

      const disabled = await fetch(`http://127.0.0.1:${second.port}/v1/flows/${flowId}/disable`, {
        method: 'POST',
        headers: auth,
      });
      expect(disabled.status).toBe(200);
      const rows = await querySql<{ scheduled_at: Date; n: number }>(
        database.url,
        `select scheduled_at, count(*)::int as n from runs where flow_id = $1
          group by scheduled_at order by scheduled_at`,
        [flowId],
      );
      const duplicates = rows.filter((row) => row.n > 1);
      const ticks = rows.length;
      const firstTick = rows[0]?.scheduled_at.getTime() ?? 0;
      const lastTick = rows.at(-1)?.scheduled_at.getTime() ?? 0;
      const span = Math.round((lastTick - firstTick) / 1000) + 1;
      console.info(
        `${backend}: ${ticks} runs for ${ticks} distinct ticks over ${span} s of 1-second ticks ` +
          `(${span - ticks} ticks missed during the APP restarts), ${duplicates.length} duplicates`,
      );
      expect(duplicates).toEqual([]);
      // Every second but the few of a lease hand-over after the crash has its run.
      expect(ticks).toBeGreaterThanOrEqual(TEST_SECONDS - 10);
      // Each run's trigger names its own tick.
      const [sample] = await querySql<{ trigger: { type: string; scheduledAt: string } }>(
        database.url,
        'select trigger from runs where flow_id = $1 limit 1',
        [flowId],
      );
      expect(sample?.trigger).toMatchObject({ type: 'schedule', scheduledAt: expect.any(String) });
      // Disabled: no tick fires any more.
      const count = async () =>
        (
          await querySql<{ n: number }>(
            database.url,
            'select count(*)::int as n from runs where flow_id = $1',
            [flowId],
          )
        )[0]?.n;
      const afterDisable = await count();
      await sleep(2500);
      expect(await count()).toBe(afterDisable);
    },
    TEST_SECONDS * 1000 + 60_000,
  );
});
