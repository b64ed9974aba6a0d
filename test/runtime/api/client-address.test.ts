import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress } from '../../../runtime/api/client-address';

/** What the APP sees with `hops` proxies, over a request from `peer` with these headers. */
async function seen(hops: number, headers: Record<string, string>, peer = '10.0.0.9') {
  const app = new Hono();
  app.get('/', (c) => c.text(clientAddress(c, hops) ?? '(none)'));
  const res = await app.request(
    '/',
    { headers },
    { incoming: { socket: { remoteAddress: peer } } },
  );
  return res.text();
}

describe('the client address', () => {
  it('is the socket peer with no proxy in front, whatever X-Forwarded-For claims', async () => {
    expect(await seen(0, { 'x-forwarded-for': '1.2.3.4' })).toBe('10.0.0.9');
  });

  it('behind CloudFront and the ALB is the entry CloudFront appended, not what the client sent', async () => {
    // client-sent, the viewer (appended by CloudFront), CloudFront (appended by the ALB)
    const xff = '6.6.6.6, 203.0.113.7, 10.1.2.3';
    expect(await seen(2, { 'x-forwarded-for': xff })).toBe('203.0.113.7');
    expect(await seen(2, { 'x-forwarded-for': `7.7.7.7, ${xff}` })).toBe('203.0.113.7');
  });

  it('falls back to the socket peer when the chain is shorter than the proxies or not an address', async () => {
    expect(await seen(2, { 'x-forwarded-for': '203.0.113.7' })).toBe('10.0.0.9');
    expect(await seen(2, {})).toBe('10.0.0.9');
    expect(await seen(1, { 'x-forwarded-for': 'evil, <b>' })).toBe('10.0.0.9');
  });
});

describe('the address a limit counts against', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
