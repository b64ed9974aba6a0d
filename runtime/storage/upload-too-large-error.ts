/** A streamed upload went over its byte limit; nothing was stored. */
export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`upload is larger than ${maxBytes} bytes`);
    this.name = 'UploadTooLargeError';
  }
}
