import { z } from 'zod';
import type { LocalUrlCheck } from '../storage/local-signed-url';
import { ApiError } from './errors';

/** The query every URL the APP signs carries: its expiry and its signature. */
export const signedUrlQuery = z.object({
  expires: z.string().regex(/^\d{1,12}$/),
  sig: z.string().regex(/^[0-9a-f]{64}$/),
});

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
