import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { slowFlow } from '../support/flows';
import { createFlowOverHttp } from '../support/flows-over-http';
import { freePort, pollJson, type SluiceProcess, startSluice } from '../support/processes';

const API_KEY = 'sk_e2e_all_role_drain_key_0123456789';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

let database: TestDatabase;
let sluice: SluiceProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await sluice?.stop('SIGKILL');
  await database?.drop();
});

/**
 * One process of role `all` (APP and worker) stopped while a sync caller waits for a flow longer
 * than its drain timeout: its worker hands the run back, and the caller must then be answered
 * (504 with the runId, to look the run up later), not cut off when the process ends.
 */
describe('a process of role all, stopped with a sync caller waiting past its drain timeout', () => {
  it('hands the run back, answers the caller 504 with its runId, and exits 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    sluice = await startSluice(
      {
        DATABASE_URL: database.url,
        REDIS_URL: 'redis://127.0.0.1:6379',
        SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
        SLUICE_API_KEY: API_KEY,
        PORT: String(port),
        HOST: '127.0.0.1',
        SLUICE_DRAIN_TIMEOUT_S: '1',
      },
      60_000,
    );
    const flowId = await createFlowOverHttp(base, auth, slowFlow(15_000));
    const waiting = fetch(`${base}/v1/webhooks/${flowId}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }).then(
      async (res) => ({ status: res.status, body: (await res.json()) as { runId?: string } }),
      (error: Error) => ({ status: 0, body: { error: error.message } }),
    );
    const running = await pollJson<{ runs: { id: string; status: string }[] }>(
      `${base}/v1/runs?flowId=${flowId}`,
      { headers: auth },
      ({ runs }) => runs[0]?.status === 'running',
      15_000,
    );

    const stopped = Date.now();
    const exitCode = await sluice.stop('SIGTERM');
    const answer = await waiting;
    // Before, the process ended at the hand-over budget (drain + 5 s) with the caller still
    // waiting for the webhook timeout: a reset connection, and exit 1.
    expect(answer).toEqual({ status: 504, body: { runId: running.runs[0]?.id } });
    expect(exitCode).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(6000);
    expect(sluice.output()).toContain('runs handed back to the queue');
  }, 90_000);
});
