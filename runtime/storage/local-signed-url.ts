import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignedUrlMethod = 'GET' | 'PUT';

/** Everything a local signed URL grants; the signature covers all of it. */
export interface LocalUrlClaims {
  method: SignedUrlMethod;
  key: string;
  /** Unix seconds after which the URL is refused. */
  expiresAt: number;
  /** GET only: served as Content-Disposition. */
  downloadName?: string;
  /** PUT: the Content-Type the upload must send. GET: the Content-Type served. */
  contentType?: string;
}

export type LocalUrlCheck = { ok: true } | { ok: false; code: 'invalid_signature' | 'url_expired' };

export const LOCAL_STORAGE_PATH = '/v1/storage/';

function mac(secret: string, claims: LocalUrlClaims): Buffer {
  // JSON of a fixed-order array: no separator inside a key or name can make two
  // different claim sets produce the same signed text.
  const text = JSON.stringify([
    claims.method,
    claims.key,
    claims.expiresAt,
    claims.downloadName ?? null,
    claims.contentType ?? null,
  ]);
  return createHmac('sha256', secret).update(text).digest();
}

/** The hex signature of `claims`: what a signed URL carries in `sig`. */
export const signLocalUrlClaims = (secret: string, claims: LocalUrlClaims): string =>
  mac(secret, claims).toString('hex');

export function buildLocalSignedUrl(
  publicBaseUrl: string,
  secret: string,
  claims: LocalUrlClaims,
): string {
  const path = claims.key.split('/').map(encodeURIComponent).join('/');
  const query = new URLSearchParams({ expires: String(claims.expiresAt) });
  if (claims.downloadName !== undefined) query.set('filename', claims.downloadName);
  if (claims.contentType !== undefined) query.set('type', claims.contentType);
  query.set('sig', signLocalUrlClaims(secret, claims));
  return `${publicBaseUrl.replace(/\/+$/, '')}${LOCAL_STORAGE_PATH}${path}?${query}`;
}

/**
 * Checks the signature first, in constant time, and only then the expiry, so a
 * URL whose expiry was pushed forward reads as tampered, not as expired.
 */
export function verifyLocalSignedUrl(
  secret: string,
  claims: LocalUrlClaims,
  signatureHex: string,
  nowSeconds: number,
): LocalUrlCheck {
  const expected = mac(secret, claims);
  const given = Buffer.from(signatureHex, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, code: 'invalid_signature' };
  }
  if (nowSeconds > claims.expiresAt) return { ok: false, code: 'url_expired' };
  return { ok: true };
}
