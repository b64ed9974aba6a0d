// npm run screenshots: builds, starts embedded Sluice on a fresh data dir, makes a few flows and
// runs through the API, and saves a screenshot of each console page to docs/console/ (desktop
// at 1280 px, and the Runs and Run pages at phone width too). Needs /usr/bin/chromium.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { signIn } from '../test/support/console-session';
import { doubleFlow as double } from '../test/support/flows';
import { startSluice } from '../test/support/processes';

const OUT = 'docs/console';
const PORT = 3950;
const dataDir = mkdtempSync(join(tmpdir(), 'sluice-screenshots-'));
const base = `http://127.0.0.1:${PORT}`;
const sluice = await startSluice(
  { PORT: String(PORT), HOST: '127.0.0.1', SLUICE_PUBLIC_URL: base, SLUICE_DATA_DIR: dataDir },
  60_000,
);
const apiKey = /Sluice API key \(shown once, save it\): (\S+)/.exec(sluice.output())?.[1] ?? '';

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, string>;
}

const fire = (flow: Record<string, string>, body: unknown) =>
  fetch(flow.syncWebhookUrl ?? '', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const flaky = {
  name: 'invoice-sync',
  trigger: { type: 'webhook' },
  steps: [
    { id: 'load', type: 'code', code: 'export default ({ trigger }) => ({ id: trigger.body.id })' },
    {
      id: 'charge',
      type: 'code',
      code: "export default ({ load }) => { if (load.id % 3 === 0) throw new Error('card declined for invoice ' + load.id); return { ok: true }; }",
    },
  ],
};

try {
  const doubleFlow = await api('POST', '/v1/flows', double);
  await api('PUT', `/v1/flows/${doubleFlow.id}`, {
    ...double,
    steps: [
      ...double.steps.slice(0, 1),
      { id: 'reply', type: 'respond', status: 201, body: { doubled: '{{calc.n}}', ok: true } },
    ],
  });
  const flakyFlow = await api('POST', '/v1/flows', flaky);
  await api('POST', '/v1/secrets', { name: 'PAYMENTS_API_TOKEN', value: 'screenshot-only-value' });
  await api('POST', '/v1/secrets', { name: 'SLACK_WEBHOOK_URL', value: 'screenshot-only-value' });
  for (let i = 1; i <= 6; i++) await fire(doubleFlow, { n: i });
  for (let i = 1; i <= 6; i++) await fire(flakyFlow, { id: i });
  const failed = (await api(
    'GET',
    `/v1/runs?flowId=${flakyFlow.id}&status=failed&limit=1`,
  )) as unknown as {
    runs: { id: string }[];
  };

  const cookie = await signIn(base, apiKey);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext();
  await context.addCookies([
    { name: 'sluice_session', value: cookie.split('=')[1] ?? '', url: base },
  ]);
  const page = await context.newPage();
  mkdirSync(OUT, { recursive: true });

  const shoot = async (target: Page, path: string, name: string, width = 1280) => {
    await target.setViewportSize({ width, height: width > 600 ? 800 : 844 });
    await target.goto(`${base}${path}`);
    await target.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
    console.log(`${OUT}/${name}.png`);
  };
  const runId = failed.runs[0]?.id ?? '';
  await shoot(page, '/console/flows', 'flows');
  await shoot(page, `/console/flows/${doubleFlow.id}?from=1&to=2`, 'flow');
  await shoot(page, '/console/runs', 'runs');
  await shoot(page, `/console/runs/${runId}`, 'run');
  await shoot(page, '/console/system', 'system');
  await shoot(page, '/console/secrets', 'secrets');
  await shoot(page, '/console/runs', 'runs-phone', 390);
  await shoot(page, `/console/runs/${runId}`, 'run-phone', 390);
  const signInPage = await browser.newPage();
  await shoot(signInPage, '/console/sign-in', 'sign-in');
  await browser.close();
} finally {
  await sluice.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
