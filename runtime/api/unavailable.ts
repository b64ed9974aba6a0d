import { isDataRefusal } from '../db/database-refusal';
import { ApiError } from './errors';

/**
 * Runs a call to PostgreSQL, Redis or storage. When it fails, the client gets 503 with
 * Retry-After rather than a 500: the dependency is down, not our code. When PostgreSQL refused
 * the request's data, the client gets 400. The answer is a fixed
 * text; the driver's error (which can quote SQL and its parameters) is kept as the cause,
 * for the log only.
 */
export async function orUnavailable<T>(dependency: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (isDataRefusal(error)) {
      // Intake checks keep such values out; one that slips through is still the caller's input.
      throw new ApiError(
        400,
        'unstorable_input',
        'the request holds a value that cannot be stored',
        undefined,
        undefined,
        error,
      );
    }
    throw unavailable(dependency, error);
  }
}

/** The 503 a client gets when `dependency` is down or hangs; `cause` is for the log only. */
export const unavailable = (dependency: string, cause: unknown) =>
  new ApiError(
    503,
    `${dependency}_unavailable`,
    `${dependency} is unavailable; retry`,
    undefined,
    { 'Retry-After': '1' },
    cause,
  );
