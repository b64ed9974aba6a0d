import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { slowFlow } from '../support/flows';
import { freePort, pollJson, type SluiceProcess, startSluice } from '../support/processes';

const API_KEY = 'sk_embedded_restart_0123456789abcd';
let dataDir: string;
let sluice: SluiceProcess | undefined;

afterAll(async () => {
  await sluice?.stop('SIGKILL');
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('embedded mode (PGlite, in-process queue) after a crash', () => {
  it('finishes the run that was running and the run that was queued when the process died', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-embedded-restart-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_API_KEY: API_KEY,
    };
    const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
    sluice = await startSluice(env, 60_000);
    const created = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers,
      body: JSON.stringify(slowFlow(1500)),
    });
    const { webhookUrl } = (await created.json()) as { webhookUrl: string };
    const fire = async () => {
      const res = await fetch(webhookUrl, { method: 'POST', headers, body: '{}' });
      return ((await res.json()) as { runId: string }).runId;
    };
    const running = await fire();
    const queued = await fire(); // one flow at a time: this one waits
    await pollJson<{ status: string }>(
      `${base}/v1/runs/${running}`,
      { headers },
      (run) => run.status === 'running',
    );
    await sluice.stop('SIGKILL');

    sluice = await startSluice(env, 60_000);
    for (const runId of [running, queued]) {
      const run = await pollJson<{ status: string; attempt: number }>(
        `${base}/v1/runs/${runId}`,
        { headers },
        (r) => r.status !== 'queued' && r.status !== 'running',
        20_000,
      );
      expect(run.status).toBe('succeeded');
      expect(run.attempt).toBe(runId === running ? 2 : 1);
    }
  }, 90_000);
});
