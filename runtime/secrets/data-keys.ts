/**
 * Where data keys come from and go back to: the key-encryption key (KEK) behind envelope
 * encryption. `local` wraps with SLUICE_SECRETS_KEY in this process; `kms` asks AWS KMS, so
 * the KEK never leaves it.
 */
export interface DataKeys {
  readonly source: 'local' | 'kms';
  /** A fresh 32-byte data key, in clear and wrapped by the KEK. */
  generate(): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  /** The clear data key; throws SecretsKeyMismatchError when the KEK cannot open it. */
  unwrap(wrapped: Buffer): Promise<Buffer>;
}
