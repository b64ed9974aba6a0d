import type { Context } from 'hono';
import { z } from 'zod';
import type { LocalUrlCheck } from '../storage/local-signed-url';
import { ApiError } from './errors';

/**
 * The query every URL the APP signs carries: its expiry and its signature. Nothing else: as
 * with S3's pre-signed URLs, a parameter the signature does not cover makes the URL invalid.
 */
export const signedUrlQuery = z
  .object({
    // Written as the signer writes it: `0123` is the same number as `123` but not the URL signed.
    expires: z.string().regex(/^(?:0|[1-9]\d{0,11})$/),
    sig: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/** A signed URL's query as `schema` reads it; 403 for a repeated, unknown or malformed parameter. */
export function signedQueryOf<T>(c: Context, schema: z.ZodType<T>): T {
  const given = c.req.queries();
  const single: Record<string, string> = {};
  for (const [name, values] of Object.entries(given)) {
    if (values.length !== 1) throw unsignedUrl();
    single[name] = values[0] ?? '';
  }
  const parsed = schema.safeParse(single);
  if (!parsed.success) throw unsignedUrl();
  return parsed.data;
}

/** A URL with no well-formed expiry or signature. */
export const unsignedUrl = () =>
  new ApiError(403, 'invalid_signature', 'the URL has no valid signature');

/** Throws the 403 a failed check answers with: expired, or not signed by us. */
export function refuseUnlessValid(check: LocalUrlCheck): void {
  if (check.ok) return;
  throw check.code === 'url_expired'
    ? new ApiError(403, 'url_expired', 'the signed URL has expired')
    : new ApiError(403, 'invalid_signature', 'the URL signature does not match');
}
