import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { boundedSdkRequests } from '../sdk-request-bounds';
import type { MetricDatum, MetricSink, MetricSinkTarget } from './metric-sink';

export interface CloudWatchSinkOptions extends MetricSinkTarget {
  region?: string | undefined;
  /** A CloudWatch-compatible endpoint instead of AWS's (tests point it at a local stub). */
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Per attempt. @default DEFAULT_REQUEST_TIMEOUT_MS (5000) */
  requestTimeoutMs?: number | undefined;
}

/**
 * Half the default 10 s interval: PutMetricData answers in well under a second, and a call
 * that hangs past this must fail, since the loop's next tick waits for it (the SDK's own
 * default is to wait forever).
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/** PutMetricData takes at most 150 distinct values per datum. */
const MAX_VALUES_PER_DATUM = 150;

/** Publishes each tick with one PutMetricData call through the AWS SDK (task-role credentials). */
export function createCloudWatchSink(options: CloudWatchSinkOptions): MetricSink {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const client = new CloudWatchClient({
    maxAttempts: 2,
    requestHandler: boundedSdkRequests(requestTimeoutMs),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const dimensions = [{ Name: options.dimensionName, Value: options.deploymentName }];
  return {
    async publish(data, at) {
      if (data.length === 0) return;
      const metricData = data.flatMap((datum) =>
        chunk(datum).map(({ values, counts }) => ({
          MetricName: datum.name,
          Dimensions: dimensions,
          Timestamp: at,
          Unit: datum.unit,
          StorageResolution: 1,
          ...(values.length === 1 && counts === undefined
            ? { Value: values[0] }
            : { Values: values, ...(counts === undefined ? {} : { Counts: counts }) }),
        })),
      );
      await client.send(
        new PutMetricDataCommand({ Namespace: options.namespace, MetricData: metricData }),
      );
    },
  };
}

function chunk(datum: MetricDatum): { values: number[]; counts?: number[] }[] {
  if (datum.values.length <= MAX_VALUES_PER_DATUM) {
    return [{ values: datum.values, ...(datum.counts ? { counts: datum.counts } : {}) }];
  }
  const parts: { values: number[]; counts?: number[] }[] = [];
  for (let i = 0; i < datum.values.length; i += MAX_VALUES_PER_DATUM) {
    const counts = datum.counts?.slice(i, i + MAX_VALUES_PER_DATUM);
    parts.push({
      values: datum.values.slice(i, i + MAX_VALUES_PER_DATUM),
      ...(counts ? { counts } : {}),
    });
  }
  return parts;
}
