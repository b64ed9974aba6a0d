import { z } from '@hono/zod-openapi';

/** `limit` and `cursor` of a paged list (`GET /v1/runs`, `/v1/flows`, `/v1/flows/:id/versions`). */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
};

/** What a paged list answers to a bad `limit` or `cursor`. */
export const badPageQuery = {
  400: { description: 'a limit outside 1–200, or a cursor nextCursor did not write for this list' },
};

/**
 * The page in `rows`, read with `limit + 1` so that one more row says whether another page
 * follows: nextCursor is null on the last page, even one that is exactly full.
 */
export function toPage<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}
