/**
 * Signs in at `base` as the console's form does (a same-origin post); returns the
 * `sluice_session=…` cookie pair. Shared by the tests, the screenshots and the bench.
 */
export async function signIn(base: string, apiKey: string): Promise<string> {
  const res = await fetch(`${base}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ apiKey }),
  });
  const cookie = /^(sluice_session=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 303 || cookie === undefined) {
    throw new Error(`console sign-in answered ${res.status} without a session cookie`);
  }
  return cookie;
}

/** The CSRF token the console's pages carry for this session. */
export async function csrfTokenOf(base: string, cookie: string): Promise<string> {
  const html = await (await fetch(`${base}/console/flows`, { headers: { cookie } })).text();
  return /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? '';
}
