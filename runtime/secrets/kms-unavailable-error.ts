/**
 * KMS did not serve a call (down, failing, throttling, or slower than the call's bound): an
 * outage the API answers 503 for, and a run is retried past. A key that cannot open a data key
 * is SecretsKeyMismatchError instead.
 */
export class KmsUnavailableError extends Error {
  constructor(operation: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.name : 'unknown error';
    super(`KMS ${operation} failed (${reason})`, options);
    this.name = 'KmsUnavailableError';
  }
}
