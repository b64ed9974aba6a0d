import { isIPv4, isIPv6 } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/**
 * The client's address as far as it can be trusted. With no proxy in front (`hops` 0) that is
 * the socket's peer. Each trusted proxy appends the address it was reached from to
 * X-Forwarded-For, so with `hops` proxies (CloudFront, then the ALB: 2) the client is the
 * `hops`-th entry from the right; anything left of it is what the client itself sent, which it
 * can make up. Too few entries means a request that came past the proxies: its socket peer.
 */
export function clientAddress(c: Context, hops: number): string | undefined {
  const peer = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress;
  if (hops === 0) return peer;
  const entries = (c.req.header('x-forwarded-for') ?? '').split(',').map((e) => e.trim());
  const entry = entries.length >= hops ? entries[entries.length - hops] : undefined;
  return entry !== undefined && (isIPv4(entry) || isIPv6(entry)) ? entry : peer;
}

/**
 * What a limit counts against: an IPv4 address, or an IPv6 address's /64, since one host is
 * routinely handed a whole /64 and could otherwise try from 2^64 addresses.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted quad (64:ff9b::1.2.3.4) stands for the last two groups.
  const width = left.length + right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups = [...left, ...Array(Math.max(0, 8 - width)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
