/**
 * A stored secret whose data key opens but whose value does not: the row is damaged, or its
 * ciphertext was written for another project or name (the AAD binds both). Retrying cannot
 * help; only a new value can.
 */
export class SecretUnreadableError extends Error {
  constructor(name: string, options?: { cause?: unknown }) {
    super(
      `secret "${name}" cannot be decrypted: its stored value is damaged or was not written for this name; set it again with PUT /v1/secrets/${name}`,
      options,
    );
    this.name = 'SecretUnreadableError';
  }
}
