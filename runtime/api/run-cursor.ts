import type { RunRow } from '../db/run-store';
import { ApiError } from './errors';

/** The keyset cursor of `GET /v1/runs` (and the console's Runs page): the last row's place. */
export const encodeCursor = (row: RunRow) =>
  Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');

export function decodeCursor(cursor: string) {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const date = new Date(createdAt ?? '');
  if (id === undefined || id === '' || Number.isNaN(date.getTime())) {
    throw new ApiError(
      400,
      'invalid_request',
      'invalid query: cursor: not a cursor from nextCursor',
    );
  }
  return { createdAt: date, id };
}
