/**
 * What direct requests (storage/s3-direct-put.ts, queue/sqs-wire.ts) reuse of an AWS SDK
 * client's resolved configuration: its SigV4 signer, made for a service and region, and the
 * clock skew the client's own calls have measured.
 */
export interface SdkSigning {
  signer(authScheme: { name: string; signingName: string; signingRegion: string }): Promise<{
    sign(request: SignableRequest, options?: { signingDate?: Date }): Promise<SignableRequest>;
  }>;
  /** The skew the SDK's own calls measured, and correctClockSkew (below) after direct calls. */
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

/** How far off AWS's clock a signature may be before AWS refuses it, and the SDK corrects. */
const CLOCK_SKEW_LIMIT_MS = 5 * 60_000;

/**
 * Corrects the SDK client's clock skew from an AWS answer's `Date` header, as the SDK's own
 * signer does after each answer: only when this machine's clock, corrected so far, is five
 * minutes or more off the service's (the point at which AWS refuses a signature). The client's
 * own calls then sign with the same correction. True when it changed: a call refused for its
 * signature's time is then worth signing again.
 */
export function correctClockSkew(config: SdkSigning, dateHeader: string | undefined): boolean {
  if (dateHeader === undefined) return false;
  const serviceTime = Date.parse(dateHeader);
  if (Number.isNaN(serviceTime)) return false;
  if (Math.abs(signingDate(config).getTime() - serviceTime) < CLOCK_SKEW_LIMIT_MS) return false;
  config.systemClockOffset = serviceTime - Date.now();
  return true;
}
