import { ApiError } from './errors';

/**
 * Runs a call to PostgreSQL, Redis or storage. When it fails, the client gets 503 with
 * Retry-After rather than a 500: the dependency is down, not our code.
 */
export async function orUnavailable<T>(dependency: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(
      503,
      `${dependency}_unavailable`,
      `${dependency} is unavailable: ${(error as Error).message}`,
      undefined,
      { 'Retry-After': '1' },
    );
  }
}
