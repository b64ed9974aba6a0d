/** SigV4 refuses pre-signed URLs valid for more than 7 days; the local driver keeps the same cap. */
const MAX_SIGNED_URL_TTL_S = 7 * 24 * 60 * 60;

/**
 * A pre-signed URL dies with the temporary credentials that signed it. ECS task-role
 * credentials last 6 hours by default and are rotated before they expire, so a URL signed
 * with them may die well before a long TTL; an hour keeps the promise a URL makes honest.
 */
export const MAX_TASK_ROLE_SIGNED_URL_TTL_S = 3600;

export function resolveSignedUrlTtl(ttlSeconds: number | undefined, fallback: number): number {
  const ttl = ttlSeconds ?? fallback;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_SIGNED_URL_TTL_S) {
    throw new RangeError(
      `ttlSeconds must be an integer from 1 to ${MAX_SIGNED_URL_TTL_S} (got ${ttl})`,
    );
  }
  return ttl;
}
