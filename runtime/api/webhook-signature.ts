import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors';

export const SIGNATURE_HEADER = 'x-sluice-signature';
export const TIMESTAMP_HEADER = 'x-sluice-timestamp';

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the flow's webhook secret>`.
 * `timestamp` is the exact text of the x-sluice-timestamp header (Unix seconds).
 */
export const signWebhook = (
  secret: string,
  timestamp: string | number,
  body: string | Uint8Array,
) => `sha256=${webhookDigest(secret, String(timestamp), body).toString('hex')}`;

/** Over the body's bytes as sent: text is its UTF-8, as the sender's bytes would be. */
const webhookDigest = (secret: string, timestamp: string, body: string | Uint8Array) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();

/** Unix seconds, as decimal digits; more than 12 digits is no clock's reading. */
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

const refused = (code: string, message: string) => new ApiError(401, code, message);

export interface SignedRequest {
  /** The body's bytes as received, before any decoding (a BOM, a byte that is no UTF-8). */
  body: Uint8Array;
  signature: string | undefined;
  timestamp: string | undefined;
}

/**
 * Checks the timestamp (within `toleranceS` of `nowS`, either way) and then the signature
 * against each secret in turn, comparing digests in constant time. Returns the secret that
 * signed the request; throws a 401 ApiError naming what is wrong, never the expected value.
 */
export function verifyWebhookSignature(
  request: SignedRequest,
  secrets: readonly string[],
  { nowS, toleranceS }: { nowS: number; toleranceS: number },
): string {
  const timestamp = request.timestamp?.trim();
  if (timestamp === undefined || timestamp === '') {
    throw refused(
      'missing_timestamp',
      `missing ${TIMESTAMP_HEADER} header: sign "<unix seconds>.<raw body>" and send the seconds in it`,
    );
  }
  if (!TIMESTAMP.test(timestamp)) {
    throw refused('invalid_timestamp', `${TIMESTAMP_HEADER} must be Unix time in whole seconds`);
  }
  const skewS = Number(timestamp) - nowS;
  if (Math.abs(skewS) > toleranceS) {
    const when = skewS < 0 ? `${-skewS} s old` : `${skewS} s in the future`;
    throw refused(
      'stale_timestamp',
      `${TIMESTAMP_HEADER} is ${when}; at most ${toleranceS} s either way is accepted`,
    );
  }
  const given = SIGNATURE.exec(request.signature?.trim() ?? '')?.[1];
  if (given !== undefined) {
    const digest = Buffer.from(given, 'hex');
    for (const secret of secrets) {
      if (timingSafeEqual(digest, webhookDigest(secret, timestamp, request.body))) return secret;
    }
  }
  throw refused(
    'invalid_signature',
    `missing or wrong ${SIGNATURE_HEADER} header (sha256=<hex HMAC-SHA256 of "<${TIMESTAMP_HEADER}>.<raw body>">)`,
  );
}

/**
 * The secret a webhook to this flow is signed with: null when the flow has no secret (the
 * headers are then ignored), else the current or, during a rotation's overlap, the replaced
 * one. Throws the 401 ApiError otherwise.
 */
export function signingSecret(
  flow: { webhookSecret: string | null; previousWebhookSecret: string | null },
  request: SignedRequest,
  toleranceS: number,
): string | null {
  if (flow.webhookSecret === null) return null;
  const secrets = [flow.webhookSecret];
  if (flow.previousWebhookSecret !== null) secrets.push(flow.previousWebhookSecret);
  return verifyWebhookSignature(request, secrets, {
    nowS: Math.floor(Date.now() / 1000),
    toleranceS,
  });
}
