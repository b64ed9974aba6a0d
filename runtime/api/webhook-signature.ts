import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sluice-signature';

/** `sha256=<hex HMAC-SHA256 of the raw body with the flow's webhook secret>` */
export const signWebhookBody = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export function hasValidSignature(secret: string, body: string, header: string | undefined) {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}
