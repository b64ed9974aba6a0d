import { describe, expect, it } from 'vitest';
import { classifyAddress, refusalReason } from '../../../runtime/engine/address-guard';
import { createGuardedLookup } from '../../../runtime/engine/guarded-lookup';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['not-an-ip', 'reserved'],
  ])('classifies %s as %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:aa02', 'metadata'],
    ['::ffff:0:169.254.169.254', 'metadata'],
    ['::ffff:0:a9fe:aa02', 'metadata'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['2002:a9fe:a9fe::1', 'metadata'],
  ])('sees through IPv6 forms of IPv4 addresses: %s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('refusalReason', () => {
  it('refuses everything but public addresses by default', () => {
    expect(refusalReason('8.8.8.8', { allowPrivateNetwork: false })).toBeNull();
    expect(refusalReason('10.0.0.1', { allowPrivateNetwork: false })).toBe('private address');
    expect(refusalReason('127.0.0.1', { allowPrivateNetwork: false })).toBe('loopback address');
  });

  it('allows private and loopback ranges with allowPrivateNetwork', () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '192.168.0.1', 'fd12::1']) {
      expect(refusalReason(address, { allowPrivateNetwork: true })).toBeNull();
    }
  });

  it('never allows link-local or metadata addresses, even with allowPrivateNetwork', () => {
    for (const address of [
      '169.254.169.254',
      '169.254.170.2',
      '169.254.10.10',
      'fd00:ec2::254',
      'fe80::1',
      '::ffff:169.254.169.254',
      '0.0.0.0',
    ]) {
      expect(refusalReason(address, { allowPrivateNetwork: true })).not.toBeNull();
    }
  });
});

describe('createGuardedLookup', () => {
  const lookupAll = (allowPrivateNetwork: boolean, hostname: string) =>
    new Promise<{ error: Error | null; addresses: unknown }>((resolve) => {
      createGuardedLookup({ allowPrivateNetwork })(hostname, { all: true }, (error, addresses) =>
        resolve({ error, addresses }),
      );
    });

  it('refuses a name that resolves to loopback after DNS resolution', async () => {
    const { error } = await lookupAll(false, 'localhost');
    expect(error?.name).toBe('AddressRefusedError');
    expect(error?.message).toMatch(/refused to connect to localhost at .* \(loopback address\)/);
  });

  it('passes the resolved addresses through when they are allowed', async () => {
    const { error, addresses } = await lookupAll(true, 'localhost');
    expect(error).toBeNull();
    expect(addresses).toEqual(
      expect.arrayContaining([expect.objectContaining({ family: expect.any(Number) })]),
    );
  });

  it('answers single-address lookups in the single-address form', async () => {
    const result = await new Promise<unknown[]>((resolve) => {
      createGuardedLookup({ allowPrivateNetwork: true })('localhost', { family: 4 }, (...args) =>
        resolve(args),
      );
    });
    expect(result).toEqual([null, '127.0.0.1', 4]);
  });
});
