/** What signs an RDS IAM auth token: `Signer` from @aws-sdk/rds-signer, or a test's stand-in. */
export interface AuthTokenSigner {
  getAuthToken(): Promise<string>;
}

/** RDS accepts a token for 15 minutes after it was signed. */
export const IAM_TOKEN_LIFETIME_MS = 15 * 60_000;
/**
 * A token older than this is replaced before the next login: five minutes to spare covers a
 * slow connection attempt and clock skew, and a new signature costs no network call.
 */
export const IAM_TOKEN_REFRESH_AFTER_MS = 10 * 60_000;

/**
 * The pool's `password` in IAM mode: pg calls it for every new connection. The token is only
 * checked at login, so open connections outlive it; a new one always gets a fresh enough token.
 * Concurrent logins share one signing, and a failed signing is not kept.
 */
export function cachedAuthToken(
  signer: AuthTokenSigner,
  { now = Date.now }: { now?: () => number } = {},
): () => Promise<string> {
  let current: { token: Promise<string>; signedAt: number } | null = null;
  return function iamAuthToken() {
    const at = now();
    if (current === null || at - current.signedAt >= IAM_TOKEN_REFRESH_AFTER_MS) {
      const token = signer.getAuthToken();
      const entry = { token, signedAt: at };
      current = entry;
      token.catch(() => {
        if (current === entry) current = null;
      });
    }
    return current.token;
  };
}
