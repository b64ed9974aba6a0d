import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../runtime/db/project-store';
import { csrfTokenOf, signIn } from '../support/console-session';
import { codeFlow, doubleFlow } from '../support/flows';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/** The console's attack surface, over a real socket: CSRF, stale sessions, markup, framing. */
let stack: TestStack;
let server: LoopbackServer;
let base: string;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  server = await serveOnLoopback(stack.api.fetch);
  ({ base } = server);
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

const createFlowOnSession = (cookie: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/flows`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(doubleFlow),
  });

describe('cross-site request forgery', () => {
  it('refuses a state-changing API call on a session without its CSRF token', async () => {
    const cookie = await signIn(base, stack.apiKey);
    const missing = await createFlowOnSession(cookie);
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'csrf_rejected',
    );
    const wrong = await createFlowOnSession(cookie, { 'x-csrf-token': 'x'.repeat(32) });
    expect(wrong.status).toBe(403);

    const right = await createFlowOnSession(cookie, {
      'x-csrf-token': await csrfTokenOf(base, cookie),
    });
    expect(right.status).toBe(201);
  });

  it('refuses a sign-out or sign-in form posted from another site', async () => {
    const cookie = await signIn(base, stack.apiKey);
    const csrf = await csrfTokenOf(base, cookie);
    const forged = await fetch(`${base}/console/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf }),
    });
    expect(forged.status).toBe(403);
    const loginForged = await fetch(`${base}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ apiKey: stack.apiKey }),
    });
    expect(loginForged.status).toBe(403);
    // The session the forged sign-out aimed at still works.
    expect((await fetch(`${base}/v1/flows`, { headers: { cookie } })).status).toBe(200);
  });
});

describe('malformed console input', () => {
  it('refuses a CSRF token whose UTF-8 is longer than it looks with 403, not a crash', async () => {
    const cookie = await signIn(base, stack.apiKey);
    const token = await csrfTokenOf(base, cookie);
    // As many characters as the real token, one of them two bytes long in UTF-8.
    const res = await createFlowOnSession(cookie, { 'x-csrf-token': `\u00e9${token.slice(1)}` });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('csrf_rejected');
  });

  it.each([
    ['a multipart body with no boundary', 'multipart/form-data', 'x'],
    ['a multipart body cut short', 'multipart/form-data; boundary=b', '--b\r\nxx'],
  ])('answers a sign-in or sign-out form of %s with 400', async (_what, type, body) => {
    const cookie = await signIn(base, stack.apiKey);
    for (const [path, headers] of [
      ['/console/sign-in', {}],
      ['/console/sign-out', { cookie }],
    ] as const) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: base, 'content-type': type, ...headers },
        body,
      });
      expect(res.status, path).toBe(400);
      expect(await res.text()).toContain(
        'invalid body: not a form (application/x-www-form-urlencoded or multipart/form-data)',
      );
    }
    // The session the bad sign-out carried is still open.
    expect((await fetch(`${base}/v1/flows`, { headers: { cookie } })).status).toBe(200);
  });

  it.each([
    ['since', 'since=0000-01-01T00:00'],
    ['until', 'until=%2B275760-09-13T00:00:00Z'],
    ['until', 'until=-000001-01-01T00:00:00Z'],
  ])(
    'answers an instant in %s that the database cannot hold with 400 naming it',
    async (name, query) => {
      const cookie = await signIn(base, stack.apiKey);
      const res = await fetch(`${base}/console/runs?${query}`, { headers: { cookie } });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(
        `invalid query: ${name}: must be between 0001-01-01 and 9999-12-31 (UTC)`,
      );
    },
  );

  it('answers a crafted cursor on the Runs page with 400', async () => {
    const cookie = await signIn(base, stack.apiKey);
    const cursor = Buffer.from('0000-01-01T00:00:00.000Z|x').toString('base64url');
    const res = await fetch(`${base}/console/runs?cursor=${cursor}`, { headers: { cookie } });
    expect(res.status).toBe(400);
  });
});

describe('a session cookie replayed after sign-out', () => {
  it('opens neither the API nor a page once the session has ended', async () => {
    const cookie = await signIn(base, stack.apiKey);
    const csrf = await csrfTokenOf(base, cookie);
    const out = await fetch(`${base}/console/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }),
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/sluice_session=;/);

    expect((await fetch(`${base}/v1/flows`, { headers: { cookie } })).status).toBe(401);
    const page = await fetch(`${base}/console/flows`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/sign-in');
  });
});

describe('stored markup', () => {
  it('renders a flow name that contains markup as text', async () => {
    const name = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const created = await stack.call('POST', '/v1/flows', codeFlow('export default () => 1', name));
    const { id } = (await created.json()) as { id: string };
    const cookie = await signIn(base, stack.apiKey);
    for (const path of ['/console/flows', `/console/flows/${id}`]) {
      const html = await (await fetch(`${base}${path}`, { headers: { cookie } })).text();
      expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
    }
  });
});

describe('clickjacking and injected script', () => {
  it.each(['/console/sign-in', '/console/flows'])(
    'forbids framing %s and any inline script',
    async (path) => {
      const cookie = await signIn(base, stack.apiKey);
      const res = await fetch(`${base}${path}`, { headers: { cookie } });
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    },
  );
});

describe('project scoping', () => {
  it("shows a session nothing of another project's flows or runs", async () => {
    const flow = (await (await stack.call('POST', '/v1/flows', doubleFlow)).json()) as {
      id: string;
    };
    const otherKey = generateApiKey();
    await createProjectWithKey(stack.database.handle.db, { name: 'other', apiKey: otherKey });
    const cookie = await signIn(base, otherKey);
    const flows = await (await fetch(`${base}/console/flows`, { headers: { cookie } })).text();
    expect(flows).toContain('No flows yet');
    const one = await fetch(`${base}/console/flows/${flow.id}`, { headers: { cookie } });
    expect(one.status).toBe(404);
    expect((await fetch(`${base}/v1/flows/${flow.id}`, { headers: { cookie } })).status).toBe(404);
  });
});
