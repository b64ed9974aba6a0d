/** SigV4 refuses pre-signed URLs valid for more than 7 days; the local driver keeps the same cap. */
const MAX_SIGNED_URL_TTL_S = 7 * 24 * 60 * 60;

export function resolveSignedUrlTtl(ttlSeconds: number | undefined, fallback: number): number {
  const ttl = ttlSeconds ?? fallback;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_SIGNED_URL_TTL_S) {
    throw new RangeError(
      `ttlSeconds must be an integer from 1 to ${MAX_SIGNED_URL_TTL_S} (got ${ttl})`,
    );
  }
  return ttl;
}
