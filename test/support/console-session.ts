import { expect } from 'vitest';

/** Signs in at `base` as a browser would (a same-origin form post); returns the cookie pair. */
export async function signIn(base: string, apiKey: string): Promise<string> {
  const res = await fetch(`${base}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ apiKey }),
  });
  expect(res.status).toBe(303);
  const cookie = /^(sluice_session=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  expect(cookie).toBeDefined();
  return cookie ?? '';
}

/** The CSRF token the console's pages carry for this session. */
export async function csrfTokenOf(base: string, cookie: string): Promise<string> {
  const html = await (await fetch(`${base}/console/flows`, { headers: { cookie } })).text();
  return /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? '';
}
