/** A wrapped data key that the configured key-encryption key cannot open: the wrong key. */
export class SecretsKeyMismatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsKeyMismatchError';
  }
}
