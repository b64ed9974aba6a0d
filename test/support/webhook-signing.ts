import { signWebhook } from '../../runtime/api/webhook-signature';

/** The headers a caller holding `secret` sends with `body`, stamped now unless told. */
export function signedHeaders(
  secret: string,
  body: string | Uint8Array,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'x-sluice-timestamp': String(timestamp),
    'x-sluice-signature': signWebhook(secret, timestamp, body),
  };
}
