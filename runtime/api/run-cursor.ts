import type { RunSummary } from '../db/run-store';
import { createdPlace, notACursor } from './list-cursor';

/** The keyset cursor of `GET /v1/runs` (and the console's Runs page): the last row's place. */
export const encodeCursor = (row: Pick<RunSummary, 'createdAt' | 'id'>) =>
  Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');

/**
 * The place a cursor names, or 400. Only what encodeCursor writes is accepted: a cursor is
 * opaque, and a crafted one must not reach a query with an instant or text PostgreSQL refuses.
 */
export function decodeCursor(cursor: string) {
  const [createdAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (rest.length > 0) throw notACursor();
  return createdPlace(createdAt, id);
}
