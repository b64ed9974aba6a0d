import { createHash } from 'node:crypto';
import { isStorableInstant } from '../db/storable-instant';
import { textProblem } from '../db/storable-text';
import { ApiError } from './errors';

/** The one answer to a cursor that nextCursor did not write for the list it is sent to. */
export const notACursor = () =>
  new ApiError(400, 'invalid_request', 'invalid query: cursor: not a cursor from nextCursor');

/**
 * The scope a cursor belongs to (a project, a flow), as a digest rather than the id itself:
 * cursors travel in URLs and access logs, and a flow's id is what guards its webhook.
 */
const scopeTag = (scope: string) =>
  createHash('sha256').update(scope).digest('base64url').slice(0, 16);

/**
 * An opaque cursor for the list `kind` within `scope`: `place` is the last row's sort key.
 * Binding it to both makes another list's or another scope's cursor a 400, not a page that
 * starts at a place from elsewhere (no row of another scope could come back either way: every
 * query is scoped by the caller).
 */
export const encodeListCursor = (kind: string, scope: string, place: readonly string[]) =>
  Buffer.from([kind, scopeTag(scope), ...place].join('|')).toString('base64url');

/** The `size` parts of the place a cursor of `kind` within `scope` names, or 400. */
export function decodeListCursor(kind: string, scope: string, cursor: string, size: number) {
  const [written = '', tag = '', ...place] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (written !== kind || tag !== scopeTag(scope) || place.length !== size) throw notACursor();
  return place;
}

/**
 * A (created time, id) place as a cursor wrote it, or 400: only what the encoder writes is
 * accepted, so a crafted cursor cannot reach a query with an instant or text PostgreSQL refuses.
 */
export function createdPlace(createdAt: string, id: string): { createdAt: Date; id: string } {
  const date = new Date(createdAt);
  const wellFormed =
    id !== '' &&
    textProblem(id) === null &&
    isStorableInstant(date) &&
    date.toISOString() === createdAt;
  if (!wellFormed) throw notACursor();
  return { createdAt: date, id };
}
