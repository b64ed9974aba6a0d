import { createHash, createHmac } from 'node:crypto';
import type { StubRequest } from './http-stub';

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data).digest();

/**
 * Checks an AWS Signature Version 4 header-signed request the way S3 does, written from the
 * AWS specification independently of the SDK: the signature must cover exactly the path,
 * headers and body the server received. Returns what is wrong, or null when it verifies.
 */
export function sigV4Problem(request: StubRequest, secretAccessKey: string): string | null {
  const auth = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (match === null) return `malformed authorization header: ${auth}`;
  const [, , date, region, service, signedHeaderList, signature] = match as unknown as string[];
  const signedHeaders = (signedHeaderList as string).split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
    if (!signedHeaders.includes(required)) return `${required} is not signed`;
  }
  for (const name of Object.keys(request.headers)) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) return `${name} is not signed`;
  }
  const payloadHash = String(request.headers['x-amz-content-sha256']);
  if (payloadHash !== sha256Hex(Buffer.from(request.body))) return 'payload hash does not match';
  const [path, query = ''] = request.path.split('?');
  const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${String(request.headers[name] ?? '').trim()}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const amzDate = String(request.headers['x-amz-date']);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${secretAccessKey}`, date as string);
  const kSigning = hmac(hmac(hmac(kDate, region as string), service as string), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return expected === signature ? null : 'signature does not match';
}

/** When a request was signed, from its x-amz-date (20261203T120000Z), in ms since the epoch. */
export const signedAt = (request: StubRequest | undefined): number =>
  Date.parse(
    String(request?.headers['x-amz-date']).replace(
      /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
      '$1-$2-$3T$4:$5:$6Z',
    ),
  );
