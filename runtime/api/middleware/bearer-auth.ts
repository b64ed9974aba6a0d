import type { MiddlewareHandler } from 'hono';
import type { Database } from '../../db/client';
import { findProjectIdByApiKey } from '../../db/project-store';
import { ApiError } from '../errors';

export type AuthVariables = { projectId: string };

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });

/** Resolves `Authorization: Bearer <api key>` to the key's project. */
export const bearerAuth = ({
  db,
}: {
  db: Database;
}): MiddlewareHandler<{ Variables: AuthVariables }> =>
  async function bearerAuth(c, next) {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match?.[1] === undefined) throw unauthorized('missing Authorization: Bearer <api key>');
    const projectId = await findProjectIdByApiKey(db, match[1]);
    if (projectId === null) throw unauthorized('invalid api key');
    c.set('projectId', projectId);
    await next();
  };
