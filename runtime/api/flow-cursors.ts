import { createdPlace, decodeListCursor, encodeListCursor, notACursor } from './list-cursor';

/** Where a page of `GET /v1/flows` ended: flows go newest first, ties by id. */
export interface FlowPlace {
  createdAt: Date;
  id: string;
}

export const encodeFlowsCursor = (projectId: string, last: FlowPlace) =>
  encodeListCursor('flows', projectId, [last.createdAt.toISOString(), last.id]);

/**
 * The place a flows cursor of this project names, or 400. Only what encodeFlowsCursor writes is
 * accepted, so a crafted one cannot reach a query with an instant or text PostgreSQL refuses.
 */
export function decodeFlowsCursor(projectId: string, cursor: string): FlowPlace {
  const [createdAt = '', id = ''] = decodeListCursor('flows', projectId, cursor, 2);
  return createdPlace(createdAt, id);
}

export const encodeVersionsCursor = (flowId: string, last: { version: number }) =>
  encodeListCursor('versions', flowId, [String(last.version)]);

/** The largest value of a PostgreSQL integer, the type of flow_versions.version. */
const MAX_VERSION = 2_147_483_647;

/** The version number a versions cursor of this flow ended at, or 400. */
export function decodeVersionsCursor(flowId: string, cursor: string): number {
  const [written = ''] = decodeListCursor('versions', flowId, cursor, 1);
  const version = Number(written);
  if (!/^[1-9]\d{0,9}$/.test(written) || version > MAX_VERSION) throw notACursor();
  return version;
}
