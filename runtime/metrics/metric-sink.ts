/** Units the publisher uses; a subset of CloudWatch's StandardUnit. */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'None';

/**
 * One metric for one tick: a single value, or a distribution as distinct values with their
 * counts (so CloudWatch can still compute percentiles).
 */
export interface MetricDatum {
  name: string;
  unit: MetricUnit;
  values: number[];
  /** Same length as `values`; omitted means each value was seen once. */
  counts?: number[];
}

/** Where a tick's metrics go: CloudWatch PutMetricData or EMF lines on stdout. */
export interface MetricSink {
  /** One call per tick, every datum at StorageResolution=1 under the deployment dimension. */
  publish(data: readonly MetricDatum[], at: Date): Promise<void>;
}

export interface MetricSinkTarget {
  namespace: string;
  dimensionName: string;
  deploymentName: string;
}
