import { SQSClient } from '@aws-sdk/client-sqs';
import { boundedSdkRequests } from '../sdk-request-bounds';

export interface SqsClientOptions {
  queueUrl: string;
  /** @default - the region in the queue URL (sqs.REGION.amazonaws.com), else us-east-1 */
  region?: string | undefined;
  /** An SQS-compatible server (tests, emulators); the queue URL's host is then not used. */
  endpoint?: string | undefined;
  /** @default - the SDK's chain: the ECS task role in AWS */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Per attempt. @default 25000 (outlasts the 20 s long poll) */
  requestTimeoutMs?: number | undefined;
}

/** The region of an AWS queue URL such as https://sqs.eu-west-1.amazonaws.com/123/runs. */
const regionOf = (queueUrl: string) =>
  /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(queueUrl).hostname)?.[1];

export function createSqsClient(options: SqsClientOptions): SQSClient {
  return new SQSClient({
    region: options.region ?? regionOf(options.queueUrl) ?? 'us-east-1',
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    // Connecting is bounded, so an unreachable SQS fails fast; a request may outlast the
    // 20 s long poll, but not hang.
    requestHandler: boundedSdkRequests(options.requestTimeoutMs ?? 25_000),
  });
}
