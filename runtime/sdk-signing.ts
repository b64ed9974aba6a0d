/**
 * What direct requests (storage/s3-direct-put.ts, queue/sqs-wire.ts) reuse of an AWS SDK
 * client's resolved configuration: its SigV4 signer, made for a service and region, and the
 * clock skew the client's own calls have measured.
 */
export interface SdkSigning {
  signer(authScheme: { name: string; signingName: string; signingRegion: string }): Promise<{
    sign(request: SignableRequest, options?: { signingDate?: Date }): Promise<SignableRequest>;
  }>;
  /** Kept up to date by the SDK's own calls when the service reports clock skew. */
  systemClockOffset?: number;
}

/** A request as the SDK's signer takes it, and returns it signed. */
export interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** The time to sign with: now, corrected by the skew the SDK client measured. */
export const signingDate = (config: SdkSigning): Date =>
  new Date(Date.now() + (config.systemClockOffset ?? 0));
