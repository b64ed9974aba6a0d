import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRun } from '../../../runtime/db/run-store';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../../support/database';
import { type SluiceProcess, startSluice } from '../../support/processes';
import { replyFlowIn } from '../../support/queued-runs';
import { querySql } from '../../support/sql';

/**
 * A run whose worker keeps dying (code that kills the isolate every time, say) is failed by the
 * APP's reconciler with worker_lost, not by a worker: the failure rate (RunsFailed over the
 * finished runs, and its alarm) must count it all the same.
 */
let database: TestDatabase | undefined;
let app: SluiceProcess | undefined;
afterEach(async () => {
  await app?.stop('SIGKILL');
  await database?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the metrics of a run failed with worker_lost', () => {
  it('count it in RunsFailed, from the APP that failed it', async () => {
    database = await createTestDatabase();
    const runId = await (await replyFlowIn(database.handle.db)).queueRun();
    // Attempt 1 claimed by a worker that died: no job left, and the last attempt it gets.
    await startRun(database.handle.db, runId);
    await sleep(1100); // past SLUICE_RECONCILE_AFTER_S

    app = await startSluice({
      SLUICE_ROLE: 'app',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
      SLUICE_METRICS: 'emf',
      SLUICE_METRICS_INTERVAL_S: '1',
      SLUICE_RECONCILE_INTERVAL_S: '1',
      SLUICE_RECONCILE_AFTER_S: '1',
      SLUICE_MAX_ATTEMPTS: '1',
    });
    const running = app;

    await vi.waitFor(
      async () => {
        const [row] = await querySql<{ status: string; error: string }>(
          database?.url ?? '',
          'select status, error from runs where id = $1',
          [runId],
        );
        expect(row).toMatchObject({ status: 'failed', error: expect.stringContaining('worker') });
      },
      { timeout: 15_000, interval: 100 },
    );
    const failed = await vi.waitFor(
      () => {
        const counts = running
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{"_aws"') && line.includes('"RunsFailed"'))
          .map((line) => (JSON.parse(line) as { RunsFailed: number }).RunsFailed);
        if (counts.length === 0) throw new Error(`no RunsFailed published:\n${running.output()}`);
        return counts;
      },
      { timeout: 5_000, interval: 100 },
    );
    expect(failed.reduce((sum, count) => sum + count, 0)).toBe(1);
  });
});
