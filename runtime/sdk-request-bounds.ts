/**
 * An AWS SDK client's request handler, bounded per attempt. The SDK's own default waits as long
 * as the connection stays open, and `requestTimeout` alone only logs a warning when it passes:
 * `throwOnRequestTimeout` fails the attempt, so a hung service is an error the caller handles.
 */
export const boundedSdkRequests = (requestTimeoutMs: number) => ({
  connectionTimeout: Math.min(requestTimeoutMs, 2000),
  requestTimeout: requestTimeoutMs,
  throwOnRequestTimeout: true,
});
