/** A direct S3 PUT attempt failed; `retryable` says whether another attempt can succeed. */
export class S3PutError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'S3PutError';
  }
}
