import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFlow } from '../../../runtime/db/flow-store';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { cancelRun } from '../../../runtime/db/run-control-store';
import { insertQueuedRun, startRun } from '../../../runtime/db/run-store';
import { createCancelWatch } from '../../../runtime/worker/cancel-watch';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const logger = pino({ level: 'silent' });
let database: TestDatabase;
let projectId: string;
let flow: { id: string; versionId: string };

beforeAll(async () => {
  database = await createTestDatabase();
  ({ projectId } = await createProjectWithKey(database.handle.db, {
    name: 'cancel-watch',
    apiKey: generateApiKey(),
  }));
  flow = await createFlow(database.handle.db, {
    projectId,
    name: 'watched',
    definition: { name: 'watched', trigger: { type: 'webhook' }, steps: [] },
    webhookSecret: null,
  });
});
afterAll(async () => {
  await database.drop();
});

async function runningRun(): Promise<string> {
  const id = randomUUID();
  await insertQueuedRun(database.handle.db, {
    id,
    projectId,
    flowId: flow.id,
    flowVersionId: flow.versionId,
    trigger: { body: {}, headers: {}, query: {} },
  });
  expect(await startRun(database.handle.db, id)).not.toBeNull();
  return id;
}

describe('the cancel watch', () => {
  it('still stops a running run after a duplicate delivery of its job ended in the same worker', async () => {
    const watch = createCancelWatch(database.handle.db, { intervalMs: 50, logger });
    try {
      const runId = await runningRun();
      // With SLUICE_WORKER_CONCURRENCY above 1, a second copy of the job (an at-least-once
      // delivery, a re-enqueue) reaches this worker while the first runs; it finds the run
      // claimed and ends at once.
      const running = watch.watch(runId);
      const duplicate = watch.watch(runId);
      duplicate.stop();
      expect(await cancelRun(database.handle.db, projectId, runId)).toEqual({ canceled: true });
      await vi.waitFor(() => expect(running.signal.aborted).toBe(true), {
        timeout: 2000,
        interval: 20,
      });
      running.stop();
    } finally {
      watch.close();
    }
  });
});
