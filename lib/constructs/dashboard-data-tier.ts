import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Cache } from './cache';
import type { Database } from './database';
import type { RunQueue } from './run-queue';
import type { ServerlessDatabase } from './serverless-database';

/**
 * The Dashboard's data-tier parts, one per kind of store, so that each profile's dashboard has
 * the same shape: each returns its alarms (made with the Dashboard's `alarm`, which routes them
 * to the alarm topic, under the same construct ids as before) and one row of widgets.
 */

export type AlarmFactory = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => cloudwatch.Alarm;
export type GraphFactory = (
  title: string,
  left: cloudwatch.IMetric[],
  extra?: Partial<cloudwatch.GraphWidgetProps>,
) => cloudwatch.GraphWidget;

export interface Thresholds {
  readonly usagePercent: number;
  readonly freePercent: number;
}

const GIB = 1024 ** 3;
const PERIOD = Duration.minutes(1);

/** RDS instance: free storage, free memory and connections alarms; CPU, connections, free. */
export function instanceDatabasePanel(
  database: Database,
  memoryGiB: number,
  thresholds: Thresholds,
  alarm: AlarmFactory,
  graph: GraphFactory,
) {
  const freeStorage = database.instance.metricFreeStorageSpace({
    period: PERIOD,
    statistic: 'Minimum',
  });
  const freeMemory = database.instance.metricFreeableMemory({
    period: PERIOD,
    statistic: 'Minimum',
  });
  const connections = database.instance.metricDatabaseConnections({
    period: PERIOD,
    statistic: 'Maximum',
  });
  const { freePercent, usagePercent } = thresholds;
  const alarms = {
    databaseFreeStorage: alarm('DatabaseFreeStorageAlarm', {
      metric: freeStorage,
      alarmDescription: `RDS free storage below ${freePercent}% of the ${database.allocatedStorageGiB} GiB first allocated: storage autoscaling may be at its ceiling`,
      threshold: Math.floor((database.allocatedStorageGiB * GIB * freePercent) / 100),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    databaseFreeMemory: alarm('DatabaseFreeMemoryAlarm', {
      metric: freeMemory,
      alarmDescription: `RDS freeable memory below ${freePercent}% of ${memoryGiB} GiB`,
      threshold: Math.floor((memoryGiB * GIB * freePercent) / 100),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    databaseConnections: alarm('DatabaseConnectionsAlarm', {
      metric: connections,
      alarmDescription: `RDS connections above ${usagePercent}% of max_connections ${database.maxConnections}`,
      threshold: Math.floor((database.maxConnections * usagePercent) / 100),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
  const widgets = [
    graph('RDS CPU %', [database.instance.metricCPUUtilization({ period: PERIOD })]),
    graph('RDS connections', [connections], {
      leftAnnotations: [{ value: database.maxConnections, label: 'max_connections' }],
    }),
    graph('RDS free storage and memory (bytes)', [freeStorage, freeMemory]),
  ];
  return { alarms, widgets };
}

/** ElastiCache: busiest node's engine CPU and memory alarms; CPU, memory, connections. */
export function cachePanel(
  cache: Cache,
  thresholds: Thresholds,
  alarm: AlarmFactory,
  graph: GraphFactory,
) {
  const cacheMetric = (metricName: string, statistic: string) =>
    cache.nodeIds.map(
      (nodeId, index) =>
        new cloudwatch.Metric({
          namespace: 'AWS/ElastiCache',
          metricName,
          dimensionsMap: { CacheClusterId: nodeId },
          statistic,
          period: PERIOD,
          label: `node ${index + 1}`,
        }),
    );
  const busiestNode = (metrics: cloudwatch.Metric[], label: string) =>
    new cloudwatch.MathExpression({
      expression: `MAX([${metrics.map((_, index) => `m${index}`).join(', ')}])`,
      usingMetrics: Object.fromEntries(metrics.map((metric, index) => [`m${index}`, metric])),
      label,
      period: PERIOD,
    });
  const memory = cacheMetric('DatabaseMemoryUsagePercentage', 'Maximum');
  const engineCpu = cacheMetric('EngineCPUUtilization', 'Average');
  const { usagePercent } = thresholds;
  const alarms = {
    cacheEngineCpu: alarm('CacheEngineCpuAlarm', {
      metric: busiestNode(engineCpu, 'engine CPU % (busiest node)'),
      alarmDescription: `Redis engine CPU above ${usagePercent}% for 5 minutes: the single-threaded engine is saturated and queue calls slow down`,
      threshold: usagePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    cacheMemory: alarm('CacheMemoryAlarm', {
      metric: busiestNode(memory, 'memory used % (busiest node)'),
      alarmDescription: `Redis memory above ${usagePercent}%: with noeviction, a full Redis rejects new runs`,
      threshold: usagePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
  const widgets = [
    graph('Redis engine CPU %', engineCpu, {
      leftAnnotations: [{ value: usagePercent, label: 'alarm' }],
    }),
    graph('Redis memory used %', memory, {
      leftAnnotations: [{ value: usagePercent, label: 'alarm' }],
    }),
    graph('Redis connections', cacheMetric('CurrConnections', 'Maximum')),
  ];
  return { alarms, widgets };
}

/**
 * Aurora Serverless v2: an alarm when capacity stays near max ACU (connections and memory
 * scale with ACU, so this is where the cluster runs short); capacity, connections, CPU.
 */
export function serverlessDatabasePanel(
  database: ServerlessDatabase,
  thresholds: Thresholds,
  alarm: AlarmFactory,
  graph: GraphFactory,
) {
  const cluster = database.cluster;
  const capacity = cluster.metricServerlessDatabaseCapacity({
    period: PERIOD,
    statistic: 'Maximum',
  });
  const acuUtilization = cluster.metricACUUtilization({ period: PERIOD, statistic: 'Maximum' });
  const alarms = {
    databaseCapacity: alarm('DatabaseCapacityAlarm', {
      metric: acuUtilization,
      alarmDescription: `Aurora above ${thresholds.usagePercent}% of its max ${database.maxAcu} ACU for 5 minutes: raise databaseMaxAcu`,
      threshold: thresholds.usagePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      // A paused cluster publishes nothing: that is idle, not trouble.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
  const widgets = [
    graph('Aurora capacity (ACU)', [capacity], {
      leftAnnotations: [
        { value: database.maxAcu, label: 'max ACU' },
        { value: database.minAcu, label: 'min ACU' },
      ],
    }),
    graph('Aurora connections', [
      cluster.metricDatabaseConnections({ period: PERIOD, statistic: 'Maximum' }),
    ]),
    graph('Aurora CPU %', [cluster.metricCPUUtilization({ period: PERIOD })]),
  ];
  return { alarms, widgets };
}

/** SQS: depth, oldest message age and the dead-letter queue, from AWS/SQS. */
export function queuePanel(runQueue: RunQueue, graph: GraphFactory) {
  const widgets = [
    graph('SQS messages: visible and in flight', [
      runQueue.metric('ApproximateNumberOfMessagesVisible', {
        statistic: 'Maximum',
        label: 'visible',
      }),
      runQueue.metric('ApproximateNumberOfMessagesNotVisible', {
        statistic: 'Maximum',
        label: 'in flight',
      }),
    ]),
    graph(
      'SQS oldest message (s)',
      [runQueue.metric('ApproximateAgeOfOldestMessage', { statistic: 'Maximum', label: 'oldest' })],
      { leftAnnotations: [{ value: runQueue.oldestMessageAlarmSeconds, label: 'alarm' }] },
    ),
    graph('SQS dead-letter queue', [
      runQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: 'Maximum',
        label: 'dead letters',
      }),
    ]),
  ];
  return {
    alarms: { deadLetter: runQueue.deadLetterAlarm, oldestMessage: runQueue.oldestMessageAlarm },
    widgets,
  };
}
