/** A storage key or one of its parts would not stay inside its `project/{id}/{KIND}/` prefix. */
export class InvalidStorageKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStorageKeyError';
  }
}
