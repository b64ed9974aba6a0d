import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { launchChromium } from '../support/console-browser';
import { codeFlow, throwingFlow } from '../support/flows';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';

/**
 * The console in a real Chromium against `dist/main.mjs` in embedded mode (PGlite: the
 * sessions live in its PostgreSQL), as a person on call would use it.
 */
let sluice: SluiceProcess;
let dataDir: string;
let base: string;
let apiKey: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const cspViolations: string[] = [];

const LIVE_DEADLINE_MS = 15_000;
/** A finished run whose timeline has a step's input and output, for the phone-width check. */
let timelineRunId = '';

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function createFlow(definition: unknown) {
  const created = await api('POST', '/v1/flows', definition);
  expect(created.status).toBe(201);
  return created.json as { id: string; webhookUrl: string };
}

const fire = async (webhookUrl: string, body: unknown) => {
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-console-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  [sluice, browser] = await Promise.all([
    startSluice({
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_PUBLIC_URL: base,
      SLUICE_DATA_DIR: dataDir,
    }),
    launchChromium(),
  ]);
  apiKey = /Sluice API key \(shown once, save it\): (\S+)/.exec(sluice.output())?.[1] ?? '';
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sluice?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('the console', () => {
  it('sends a visitor of / to sign in, and lets them in with an API key', async () => {
    await page.goto(`${base}/`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.getByLabel('API key').fill('sk_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That API key is not valid').waitFor();

    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Flows' }).waitFor();
    await page.getByText('No flows yet').waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'sluice_session', httpOnly: true, sameSite: 'Strict' });
    expect(JSON.stringify(await context.cookies())).not.toContain(apiKey);
  });

  it('shows a run appear and finish live on the Runs page', async () => {
    const flow = await createFlow(
      codeFlow(
        'export default ({ trigger }) => { const end = Date.now() + 1500; while (Date.now() < end) {} return { n: trigger.body.n * 2 }; }',
        'slow-double',
      ),
    );
    await page.goto(`${base}/console/runs`);
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const runId = await fire(flow.webhookUrl, { n: 21 });
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await row.waitFor({ timeout: LIVE_DEADLINE_MS });
    await row.getByText('succeeded').waitFor({ timeout: LIVE_DEADLINE_MS });
    expect(
      await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
    ).toBe(true);

    await row.getByRole('link').click();
    await page.getByRole('heading', { name: `Run ${runId.slice(0, 8)}` }).waitFor();
    await page.getByText('main', { exact: true }).waitFor();
    // The step's input (its ctx: the fired webhook's body) beside its output.
    const step = page.locator('li[data-step="main"]');
    await step.locator('.step-input').getByText('"n": 21').waitFor();
    await step.locator('.step-output').getByText('"n": 42').waitFor();
    await step.locator('.step-input').getByText('"trigger"').waitFor();
    timelineRunId = runId;
  });

  it("shows a step's too-large input folded, and opens it from the keyboard", async () => {
    const flow = await createFlow(
      codeFlow('export default ({ trigger }) => trigger.body.n', 'big-in'),
    );
    const runId = await fire(flow.webhookUrl, { n: 5, pad: 'p'.repeat(20_000) });
    await page.goto(`${base}/console/runs/${runId}`);
    const input = page.locator('li[data-step="main"] .step-input');
    await input.getByText(/Too large to keep whole: [\d,]+ bytes of JSON/).waitFor({
      timeout: LIVE_DEADLINE_MS,
    });
    const summary = input.locator('summary');
    await summary.focus();
    await page.keyboard.press('Enter');
    await input.locator('pre').getByText('{"trigger":{"body":{"n":5,"pad":"ppp').waitFor();
  });

  it("shows a failed run's step and its error", async () => {
    const flow = await createFlow(throwingFlow);
    const runId = await fire(flow.webhookUrl, {});
    await page.goto(`${base}/console/runs/${runId}`);
    await page.locator('.failed-step').getByText('boom').waitFor({ timeout: LIVE_DEADLINE_MS });
    await page.getByText('Step main failed').waitFor();
  });

  it('replays a run and opens the new one, which finishes live', async () => {
    const flow = await createFlow(codeFlow('export default () => ({ ok: true })', 'replayable'));
    const runId = await fire(flow.webhookUrl, {});
    await page.goto(`${base}/console/runs/${runId}`);
    await page.getByText('succeeded').first().waitFor({ timeout: LIVE_DEADLINE_MS });
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.waitForURL(
      (url) => url.pathname.startsWith('/console/runs/') && !url.pathname.endsWith(runId),
    );
    await page.getByText(`replay of ${runId.slice(0, 8)}`).waitFor();
    await page.locator('.badge.succeeded').first().waitFor({ timeout: LIVE_DEADLINE_MS });
  });

  it('cancels a running run, and shows it canceled', async () => {
    const flow = await createFlow(
      codeFlow(
        'export default () => { const end = Date.now() + 4000; while (Date.now() < end) {} return {}; }',
        'long-one',
      ),
    );
    const runId = await fire(flow.webhookUrl, {});
    await page.goto(`${base}/console/runs/${runId}`);
    await page.locator('.badge.running').first().waitFor({ timeout: LIVE_DEADLINE_MS });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.badge.canceled').first().waitFor({ timeout: LIVE_DEADLINE_MS });
    const run = await api('GET', `/v1/runs/${runId}`);
    expect(run.json.status).toBe('canceled');
  });

  it('disables a flow, and shows a bad new version at the path the API names', async () => {
    await page.goto(`${base}/console/flows`);
    const row = page.getByRole('row', { name: /replayable/ });
    await row.getByRole('button', { name: 'Disable replayable' }).click();
    await row.getByText('disabled').waitFor();

    await row.getByRole('link', { name: 'replayable' }).click();
    await page.getByRole('heading', { name: /replayable/ }).waitFor();
    await page
      .getByLabel('Definition (JSON)')
      .fill(
        '{"name":"replayable","trigger":{"type":"webhook"},"steps":[{"id":"x","type":"nope"}]}',
      );
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.locator('.field-errors li').first().waitFor();
    expect(await page.locator('.field-errors').textContent()).toMatch(/at steps\[0\]/);
  });

  it('sets, rotates and deletes a secret, and never shows its value', async () => {
    const value = 'console-secret-value-5f1c';
    await page.goto(`${base}/console/secrets`);
    await page.getByText('No secrets yet').waitFor();
    await page.getByLabel('Name').fill('API_TOKEN');
    await page.getByLabel('Value').fill(value);
    // Each form reloads the page once the API has answered.
    await Promise.all([
      page.waitForEvent('load'),
      page.getByRole('button', { name: 'Save' }).click(),
    ]);
    const row = page.getByRole('row', { name: /API_TOKEN/ });
    await row.waitFor();
    expect(await page.content()).not.toContain(value);

    await row.getByLabel('New value for API_TOKEN').fill(`${value}-2`);
    await Promise.all([
      page.waitForEvent('load'),
      row.getByRole('button', { name: 'Rotate API_TOKEN' }).click(),
    ]);
    await vi.waitFor(async () => {
      const listed = (await api('GET', '/v1/secrets')).json.secrets as {
        createdAt: string;
        updatedAt: string;
      }[];
      expect(Date.parse(listed[0]?.updatedAt ?? '')).toBeGreaterThan(
        Date.parse(listed[0]?.createdAt ?? ''),
      );
    });
    expect(await page.content()).not.toContain(value);

    await page.getByRole('button', { name: 'Delete API_TOKEN' }).click();
    await page.getByText('No secrets yet').waitFor();
    expect((await api('GET', '/v1/secrets')).json.secrets).toEqual([]);
  });

  it('is usable from the keyboard and at phone width', async () => {
    await page.goto(`${base}/console/runs`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Flows');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Flows' }).waitFor();

    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/console/flows', '/console/runs', '/console/system', '/console/secrets']) {
      await page.goto(`${base}${path}`);
      // Wide tables scroll inside their own box; the page itself never scrolls sideways.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    }
    // A step's input and output stack at phone width: the output starts below the input.
    await page.goto(`${base}/console/runs/${timelineRunId}`);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const input = await page.locator('li[data-step="main"] .step-input').boundingBox();
    const output = await page.locator('li[data-step="main"] .step-output').boundingBox();
    expect(output?.y ?? 0).toBeGreaterThanOrEqual((input?.y ?? 0) + (input?.height ?? 0));
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('signs out, and the session cookie no longer opens anything', async () => {
    const [cookie] = await context.cookies();
    await page.goto(`${base}/console/flows`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const replayed = await fetch(`${base}/v1/flows`, {
      headers: { cookie: `sluice_session=${cookie?.value}` },
    });
    expect(replayed.status).toBe(401);
    expect(cspViolations).toEqual([]);
  });
});
