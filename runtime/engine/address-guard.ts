import { isIP } from 'node:net';

/**
 * Decides which IP addresses an HTTP step may connect to. Everything that is not a public unicast
 * address is refused by default. `allowPrivateNetwork` opens private and loopback ranges (for
 * local development and tests) but never link-local or cloud metadata endpoints, which hand out
 * the task role's credentials.
 */

export type AddressKind =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

interface Ipv4Range {
  base: number;
  prefix: number;
  kind: AddressKind;
}

// Most specific first: metadata addresses sit inside link-local and private ranges.
const IPV4_RANGES: Ipv4Range[] = [
  range4('169.254.169.254', 32, 'metadata'), // EC2 instance metadata (IMDS)
  range4('169.254.170.2', 32, 'metadata'), // ECS task role credentials
  range4('169.254.169.253', 32, 'metadata'), // Amazon DNS
  range4('0.0.0.0', 8, 'unspecified'),
  range4('10.0.0.0', 8, 'private'),
  range4('100.64.0.0', 10, 'private'), // carrier-grade NAT, also used inside VPCs
  range4('127.0.0.0', 8, 'loopback'),
  range4('169.254.0.0', 16, 'link-local'),
  range4('172.16.0.0', 12, 'private'),
  range4('192.0.0.0', 24, 'reserved'),
  range4('192.0.2.0', 24, 'reserved'),
  range4('192.168.0.0', 16, 'private'),
  range4('198.18.0.0', 15, 'private'),
  range4('198.51.100.0', 24, 'reserved'),
  range4('203.0.113.0', 24, 'reserved'),
  range4('224.0.0.0', 4, 'multicast'),
  range4('240.0.0.0', 4, 'reserved'), // includes 255.255.255.255
];

export function classifyAddress(address: string): AddressKind {
  const unzoned = address.replace(/%.*$/, '');
  const family = isIP(unzoned);
  if (family === 4) return classifyIpv4(parseIpv4(unzoned));
  if (family === 6) return classifyIpv6(parseIpv6(unzoned));
  return 'reserved';
}

/** Why `address` is refused, or null when an HTTP step may connect to it. */
export function refusalReason(
  address: string,
  { allowPrivateNetwork }: { allowPrivateNetwork: boolean },
): string | null {
  const kind = classifyAddress(address);
  if (kind === 'public') return null;
  if (allowPrivateNetwork && (kind === 'private' || kind === 'loopback')) return null;
  return `${kind} address`;
}

function classifyIpv4(value: number): AddressKind {
  for (const { base, prefix, kind } of IPV4_RANGES) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    if ((value & mask) >>> 0 === base) return kind;
  }
  return 'public';
}

function classifyIpv6(bytes: Uint8Array): AddressKind {
  const word = (index: number) => ((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0);
  const words = [0, 1, 2, 3, 4, 5, 6, 7].map(word);
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, w6 = 0, w7 = 0] = words;
  const embeddedIpv4 = ((w6 << 16) | w7) >>> 0;
  // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765, SIIT) reaches the embedded address too.
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0xffff && w5 === 0) {
    return classifyIpv4(embeddedIpv4);
  }
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0) {
    if (w5 === 0xffff) return classifyIpv4(embeddedIpv4); // IPv4-mapped ::ffff:a.b.c.d
    if (w5 === 0) {
      if (w6 === 0 && w7 === 0) return 'unspecified';
      if (w6 === 0 && w7 === 1) return 'loopback';
      return classifyIpv4(embeddedIpv4); // deprecated IPv4-compatible ::a.b.c.d
    }
  }
  // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address through a translator.
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) {
    return classifyIpv4(embeddedIpv4);
  }
  if (w0 === 0x2002) return classifyIpv4(((w1 << 16) | w2) >>> 0); // 6to4 embeds IPv4 in 2002:AABB:CCDD::
  if (w0 === 0xfd00 && w1 === 0x0ec2) return 'metadata'; // AWS IMDS, DNS and NTP over IPv6
  if ((w0 & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((w0 & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((w0 & 0xff00) === 0xff00) return 'multicast';
  if (w0 === 0x2001 && w1 === 0x0db8) return 'reserved'; // documentation
  if (w0 === 0x0100 && w1 === 0 && w2 === 0 && w3 === 0) return 'reserved'; // discard-only
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 1) return 'private'; // local-use NAT64
  return 'public';
}

function range4(address: string, prefix: number, kind: AddressKind): Ipv4Range {
  return { base: parseIpv4(address), prefix, kind };
}

function parseIpv4(address: string): number {
  return address.split('.').reduce((value, octet) => ((value << 8) | Number(octet)) >>> 0, 0);
}

/** Expands a valid IPv6 address (as accepted by `isIP`) into 16 bytes. */
function parseIpv6(address: string): Uint8Array {
  let text = address.toLowerCase();
  const bytes = new Uint8Array(16);
  let tailIpv4: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tailIpv4 = parseIpv4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', tail] = text.split('::');
  const headWords = head === '' ? [] : head.split(':');
  const tailWords = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headWords.length - tailWords.length;
  const words = [
    ...headWords,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailWords,
  ];
  words.forEach((word, index) => {
    const value = Number.parseInt(word, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  if (tailIpv4 !== null) {
    bytes[12] = tailIpv4 >>> 24;
    bytes[13] = (tailIpv4 >>> 16) & 0xff;
    bytes[14] = (tailIpv4 >>> 8) & 0xff;
    bytes[15] = tailIpv4 & 0xff;
  }
  return bytes;
}
