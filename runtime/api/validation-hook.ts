import type { Hook } from '@hono/zod-openapi';
import { ApiError } from './errors';

/** `['steps', 1, 'type']` → `steps[1].type` */
export const formatPath = (path: readonly PropertyKey[]) =>
  path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');

/** Throws an ApiError for the invalid field(s); 400 with a message naming the first one. */
export function invalidRequest(
  where: string,
  issues: readonly { path: string; message: string }[],
): never {
  const first = issues[0];
  const field = first?.path ? `${first.path}: ` : '';
  throw new ApiError(400, 'invalid_request', `invalid ${where}: ${field}${first?.message}`, issues);
}

/** zod-openapi's hook for every route: failed validation becomes a 400 naming the field. */
// biome-ignore lint/suspicious/noExplicitAny: the hook serves every route, whatever its env and input types
export const validationHook: Hook<any, any, any, any> = (result) => {
  if (result.success) return;
  invalidRequest(
    result.target,
    result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  );
};
