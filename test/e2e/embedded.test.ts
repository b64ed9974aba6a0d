import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleFlow } from '../support/flows';
import {
  fetchEventually,
  freePort,
  pollJson,
  type SluiceProcess,
  startSluice,
} from '../support/processes';

/** SLUICE_ROLE=all with no DATABASE_URL or REDIS_URL: PGlite, in-process queue, local files. */
let sluice: SluiceProcess;
let dataDir: string;
let base: string;
let apiKey: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-embedded-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  sluice = await startSluice({
    PORT: String(port),
    HOST: '127.0.0.1',
    SLUICE_PUBLIC_URL: base,
    SLUICE_DATA_DIR: dataDir,
  });
  const printed = /Sluice API key \(shown once, save it\): (\S+)/.exec(sluice.output());
  apiKey = printed?.[1] ?? '';
}, 60_000);

afterAll(async () => {
  await sluice?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded mode', () => {
  it('prints a generated API key once and accepts it', async () => {
    expect(apiKey).toMatch(/^sk_/);
    const res = await fetch(`${base}/v1/flows`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
  });

  it('runs the sync and async scenario with no services', async () => {
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/v1/flows`, {
      method: 'POST',
      headers,
      body: JSON.stringify(doubleFlow),
    });
    const { syncWebhookUrl, webhookUrl } = (await created.json()) as Record<string, string>;

    const sync = await fetch(syncWebhookUrl ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n": 4}',
    });
    expect(sync.status).toBe(201);
    expect(await sync.json()).toEqual({ doubled: 8 });

    const accepted = await fetch(webhookUrl ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n": 6}',
    });
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    const run = await pollJson<{ status: string; logUrl: string }>(
      `${base}/v1/runs/${runId}`,
      { headers },
      (r) => r.status === 'succeeded',
    );
    const log = await fetchEventually(run.logUrl);
    expect(log.status).toBe(200);
    expect(((await log.json()) as { runId: string }).runId).toBe(runId);
  });

  it('is ready without PostgreSQL or Redis, and reports no Redis it does not have', async () => {
    const res = await fetch(`${base}/v1/health/ready`);
    expect(res.status).toBe(200);
    // The database is PGlite; the queue lives in the process, with nothing to check.
    expect(await res.json()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
  });
});
