import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Guessing API keys, over a real socket: through the console's sign-in form and through Bearer
 * auth. One proxy hop is trusted here, so each test is its own client by X-Forwarded-For.
 */
let stack: TestStack;
let server: LoopbackServer;
let base: string;

beforeAll(async () => {
  stack = await startTestStack(
    { SLUICE_AUTH_FAILURE_LIMIT: '3', SLUICE_TRUSTED_PROXY_HOPS: '1' },
    { worker: false },
  );
  server = await serveOnLoopback(stack.api.fetch);
  ({ base } = server);
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

const WRONG_KEY = `sk_${'x'.repeat(32)}`;

const signIn = (client: string, apiKey: string) =>
  fetch(`${base}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      origin: base,
      'x-forwarded-for': client,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ apiKey }),
  });

const listFlows = (client: string, apiKey: string) =>
  fetch(`${base}/v1/flows`, {
    headers: { 'x-forwarded-for': client, authorization: `Bearer ${apiKey}` },
  });

describe('guessing API keys', () => {
  it('through the sign-in form gets 429 with Retry-After once the limit is spent, even for the right key', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn('203.0.113.1', WRONG_KEY)).status).toBe(401);
    const held = await signIn('203.0.113.1', stack.apiKey);
    expect(held.status).toBe(429);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(held.headers.get('content-type')).toMatch(/^text\/html/);
    expect(held.headers.get('set-cookie')).toBeNull();
    expect(await held.text()).toContain('Too many sign-ins with a wrong key');
    // Another client is not held back.
    expect((await signIn('203.0.113.2', stack.apiKey)).status).toBe(303);
  });

  it('through Bearer auth gets a JSON 429 with Retry-After, from the same count', async () => {
    for (let i = 0; i < 2; i++)
      expect((await listFlows('203.0.113.3', WRONG_KEY)).status).toBe(401);
    expect((await signIn('203.0.113.3', WRONG_KEY)).status).toBe(401);
    const held = await listFlows('203.0.113.3', stack.apiKey);
    expect(held.status).toBe(429);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await held.json()).toEqual({
      error: {
        code: 'too_many_attempts',
        message: expect.stringMatching(
          /^too many invalid API keys from this address; try again in \d+ s$/,
        ),
      },
    });
    expect((await listFlows('203.0.113.4', stack.apiKey)).status).toBe(200);
  });

  it('counts the address the trusted proxy appended, not what the client wrote before it', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await listFlows(`198.51.100.${i}, 203.0.113.5`, WRONG_KEY)).status).toBe(401);
    }
    expect((await listFlows('192.0.2.99, 203.0.113.5', stack.apiKey)).status).toBe(429);
  });

  it('counts the socket peer when no proxy entry is there', async () => {
    const bare = (apiKey: string) =>
      fetch(`${base}/v1/flows`, { headers: { authorization: `Bearer ${apiKey}` } });
    for (let i = 0; i < 3; i++) expect((await bare(WRONG_KEY)).status).toBe(401);
    expect((await bare(stack.apiKey)).status).toBe(429);
    expect((await listFlows('203.0.113.8', stack.apiKey)).status).toBe(200);
  });

  it('never counts a right key or a request without one', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await listFlows('203.0.113.6', stack.apiKey)).status).toBe(200);
      expect(
        (await fetch(`${base}/v1/flows`, { headers: { 'x-forwarded-for': '203.0.113.6' } })).status,
      ).toBe(401);
    }
    expect((await signIn('203.0.113.6', stack.apiKey)).status).toBe(303);
  });
});
