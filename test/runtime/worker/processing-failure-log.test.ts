import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '../../../runtime/env';
import { createLogger } from '../../../runtime/logger';
import { createFileStore, createQueueDriver, createReplyBus } from '../../../runtime/parts';
import { startWorker } from '../../../runtime/roles/worker';
import { createTestDatabase, withPgClient } from '../../support/database';
import { type QueueBackendEnv, startQueueBackend } from '../../support/queue-backends';
import { replyFlowIn } from '../../support/queued-runs';
import { testSecretStore } from '../../support/secrets';

/**
 * A run whose processing throws (PostgreSQL refuses its outcome, say) is left to the queue's
 * retry or the reconciler; the worker's log is where an operator learns why, so each driver
 * must say so there, naming the run.
 */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(['bullmq', 'sqs', 'memory'] as const)('a worker on the %s queue', (backend) => {
  it('logs a run that failed to process at error, with its run id and the reason', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const queue: QueueBackendEnv | null =
      backend === 'memory' ? null : await startQueueBackend(backend);
    if (queue !== null) cleanups.push(() => queue.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-processing-failure-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = parseEnv({
      DATABASE_URL: database.url,
      SLUICE_DATA_DIR: dataDir,
      ...(queue?.env ?? {}),
    });
    const logLines: Array<Record<string, unknown>> = [];
    const logger = createLogger(
      'warn',
      {},
      { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    // PostgreSQL refuses every outcome: the claim succeeds, recording the end throws.
    await withPgClient(database.url, (client) =>
      client.query(`
      create function refuse_outcomes() returns trigger language plpgsql as $$
      begin raise exception 'outcomes refused for this test'; end $$;
      create trigger refuse_outcomes before update on runs for each row
        when (old.status = 'running' and new.status <> 'running')
        execute function refuse_outcomes();`),
    );
    const driver = await createQueueDriver(env, logger, database.handle.db);
    cleanups.push(() => driver.queue.close());
    const replies = await createReplyBus(env, randomUUID(), {
      subscribe: false,
      db: database.handle.db,
    });
    cleanups.push(() => replies.close());
    const worker = startWorker({
      env,
      db: database.handle.db,
      secrets: testSecretStore(database.handle.db),
      driver,
      store: createFileStore(env).store,
      replies,
      logger,
    });
    cleanups.push(() => worker.close());

    const runId = await (await replyFlowIn(database.handle.db)).queueRun();
    await driver.queue.enqueue({ runId, replyTo: null });

    const line = await vi.waitFor(
      () => {
        const found = logLines.find((l) => l.runId === runId && l.level === 50);
        if (found === undefined) throw new Error(`not logged yet: ${JSON.stringify(logLines)}`);
        return found;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(line.msg).toBe('run failed to process');
    expect(JSON.stringify(line.err)).toContain('outcomes refused for this test');
  });
});
