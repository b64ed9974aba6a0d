import type { MetricSink, MetricSinkTarget } from './metric-sink';

/** EMF accepts at most 100 values per metric in one document. */
const MAX_VALUES_PER_LINE = 100;

/**
 * Writes CloudWatch Embedded Metric Format documents, one JSON line per tick (more only for
 * long distributions), to `write`. The awslogs driver ships stdout; CloudWatch Logs extracts the
 * metrics, so no PutMetricData permission is needed.
 */
export function createEmfSink(
  target: MetricSinkTarget,
  write: (line: string) => void = (line) => process.stdout.write(line),
): MetricSink {
  return {
    async publish(data, at) {
      if (data.length === 0) return;
      const expanded = data.map((datum) => ({
        datum,
        values: datum.values.flatMap((value, i) =>
          Array.from({ length: datum.counts?.[i] ?? 1 }, () => value),
        ),
      }));
      const lines = Math.max(
        1,
        ...expanded.map(({ values }) => Math.ceil(values.length / MAX_VALUES_PER_LINE)),
      );
      for (let line = 0; line < lines; line++) {
        const part = expanded
          .map(({ datum, values }) => ({
            datum,
            values: values.slice(line * MAX_VALUES_PER_LINE, (line + 1) * MAX_VALUES_PER_LINE),
          }))
          .filter(({ values }) => values.length > 0);
        const document: Record<string, unknown> = {
          _aws: {
            Timestamp: at.getTime(),
            CloudWatchMetrics: [
              {
                Namespace: target.namespace,
                Dimensions: [[target.dimensionName]],
                Metrics: part.map(({ datum }) => ({
                  Name: datum.name,
                  Unit: datum.unit,
                  StorageResolution: 1,
                })),
              },
            ],
          },
          [target.dimensionName]: target.deploymentName,
        };
        for (const { datum, values } of part) {
          document[datum.name] = values.length === 1 ? values[0] : values;
        }
        write(`${JSON.stringify(document)}\n`);
      }
    },
  };
}
