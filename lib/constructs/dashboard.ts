import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULT_WEBHOOK_TIMEOUT_S, METRIC } from '../../runtime/limits';
import type { AppService } from './app-service';
import type { Cache } from './cache';
import {
  cachePanel,
  instanceDatabasePanel,
  queuePanel,
  serverlessDatabasePanel,
} from './dashboard-data-tier';
import type { Database } from './database';
import type { QueueScaling } from './queue-scaling';
import type { RunQueue } from './run-queue';
import type { ServerlessDatabase } from './serverless-database';
import type { WorkerService } from './worker-service';

export interface DashboardProps {
  readonly appService: AppService;
  readonly workerService: WorkerService;
  /**
   * The RDS instance; give exactly one of `database` and `serverlessDatabase`.
   * @default - none
   */
  readonly database?: Database;
  /**
   * Memory of the RDS instance class, from sizing; the FreeableMemory alarm is a share of it.
   * Required with `database`.
   * @default - none
   */
  readonly databaseMemoryGiB?: number;
  /**
   * The Aurora Serverless v2 cluster: capacity and connection widgets, an alarm near max ACU.
   * @default - none
   */
  readonly serverlessDatabase?: ServerlessDatabase;
  /**
   * The Redis queue's cache: its widgets and alarms.
   * @default - none (the SQS queue)
   */
  readonly cache?: Cache;
  /**
   * The SQS run queue: queue widgets from AWS/SQS, and its dead-letter and oldest-message alarms
   * routed to the topic.
   * @default - none (the Redis queue)
   */
  readonly runQueue?: RunQueue;
  /**
   * Whether the cluster runs Container Insights: task counts come from its RunningTaskCount and
   * DesiredTaskCount; without it, running tasks are the SampleCount of AWS/ECS CPUUtilization.
   * @default true
   */
  readonly containerInsights?: boolean;
  /** The queue-depth and run metrics, and the worker fleet's bounds. */
  readonly queueScaling: QueueScaling;
  /**
   * Age of the oldest waiting job that raises the alarm: past it, a sync webhook gives up.
   * @default DEFAULT_WEBHOOK_TIMEOUT_S (30)
   */
  readonly oldestWaitingAgeThresholdSeconds?: number;
  /**
   * Runs failed or timed out, as a percentage of runs finished, that raise the alarm.
   * @default 5
   */
  readonly runFailurePercentThreshold?: number;
  /**
   * ALB 5xx responses, as a percentage of requests, that raise the alarm.
   * @default 1
   */
  readonly alb5xxPercentThreshold?: number;
  /**
   * Fewest requests in the 5-minute window before the 5xx share can alarm, so that one error
   * among three requests at night pages no one.
   * @default 100
   */
  readonly alb5xxMinRequests?: number;
  /**
   * Share of max_connections, Redis memory, or Redis engine CPU in use that raises the alarm.
   * @default 80
   */
  readonly usagePercentThreshold?: number;
  /**
   * Share of RDS storage or memory left free below which the alarm is raised.
   * @default 10
   */
  readonly freePercentThreshold?: number;
}

const PERIOD = Duration.minutes(1);
/** The 5xx ratio is judged over 5 minutes; a 1-minute ratio on a quiet API swings on one error. */
const ALARM_PERIOD = Duration.minutes(5);

/**
 * One CloudWatch dashboard for the whole deployment (ALB, both tiers, RDS, Redis) and the
 * alarms that page: ALB 5xx over 1% of at least 100 requests, an unhealthy APP target, RDS
 * connections over 80% or free storage or memory under 10%, Redis memory or engine CPU over
 * 80%, no worker running, jobs waiting too long, runs failing, any
 * misrouted job. Alarms notify `alarmTopic`;
 * subscribe to it after deploying.
 */
export class Dashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;
  readonly alarms: {
    readonly alb5xx: cloudwatch.Alarm;
    readonly unhealthyHosts: cloudwatch.Alarm;
    readonly databaseConnections?: cloudwatch.Alarm;
    readonly databaseFreeStorage?: cloudwatch.Alarm;
    readonly databaseFreeMemory?: cloudwatch.Alarm;
    readonly databaseCapacity?: cloudwatch.Alarm;
    readonly cacheEngineCpu?: cloudwatch.Alarm;
    readonly cacheMemory?: cloudwatch.Alarm;
    readonly deadLetter?: cloudwatch.Alarm;
    readonly oldestMessage?: cloudwatch.Alarm;
    readonly noWorkers: cloudwatch.Alarm;
    readonly oldestWaitingAge: cloudwatch.Alarm;
    readonly runFailureRate: cloudwatch.Alarm;
    readonly misroutedJobs: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const alb5xxPercentThreshold = props.alb5xxPercentThreshold ?? 1;
    const usagePercentThreshold = props.usagePercentThreshold ?? 80;
    const freePercentThreshold = props.freePercentThreshold ?? 10;
    const alb5xxMinRequests = props.alb5xxMinRequests ?? 100;
    if (!Number.isInteger(alb5xxMinRequests) || alb5xxMinRequests < 1) {
      throw new Error(`alb5xxMinRequests must be a positive integer (got ${alb5xxMinRequests})`);
    }
    if ((props.database === undefined) === (props.serverlessDatabase === undefined)) {
      throw new Error(
        `exactly one of database and serverlessDatabase must be given (got ${props.database === undefined ? 'neither' : 'both'})`,
      );
    }
    if (props.database !== undefined && !((props.databaseMemoryGiB ?? 0) > 0)) {
      throw new Error(`databaseMemoryGiB must be above 0 (got ${props.databaseMemoryGiB})`);
    }
    const containerInsights = props.containerInsights ?? true;
    const oldestWaitingAgeThresholdSeconds =
      props.oldestWaitingAgeThresholdSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_S;
    const runFailurePercentThreshold = props.runFailurePercentThreshold ?? 5;
    if (!(oldestWaitingAgeThresholdSeconds > 0)) {
      throw new Error(
        `oldestWaitingAgeThresholdSeconds must be above 0 (got ${oldestWaitingAgeThresholdSeconds})`,
      );
    }
    for (const [name, value] of [
      ['alb5xxPercentThreshold', alb5xxPercentThreshold],
      ['usagePercentThreshold', usagePercentThreshold],
      ['freePercentThreshold', freePercentThreshold],
      ['runFailurePercentThreshold', runFailurePercentThreshold],
    ] as const) {
      if (!(value > 0 && value <= 100)) {
        throw new Error(`${name} must be a percentage above 0 and at most 100 (got ${value})`);
      }
    }
    const { appService, workerService, queueScaling } = props;
    const alb = appService.loadBalancer.metrics;

    const requests = alb.requestCount({ period: PERIOD, label: 'Requests' });
    const elb5xx = alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: PERIOD });
    const target5xx = alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: PERIOD });
    const fiveXx = new cloudwatch.MathExpression({
      expression: 'FILL(elb, 0) + FILL(target, 0)',
      usingMetrics: { elb: elb5xx, target: target5xx },
      label: '5xx (ALB + targets)',
      period: PERIOD,
    });
    // Below alb5xxMinRequests in the window the share reads 0: a quiet API never pages on one
    // error among a handful of requests.
    const fiveXxPercent = new cloudwatch.MathExpression({
      expression: `IF(FILL(requests, 0) >= ${alb5xxMinRequests}, 100 * (FILL(elbErrors, 0) + FILL(targetErrors, 0)) / requests, 0)`,
      usingMetrics: {
        elbErrors: elb5xx.with({ period: ALARM_PERIOD }),
        targetErrors: target5xx.with({ period: ALARM_PERIOD }),
        requests: requests.with({ period: ALARM_PERIOD }),
      },
      label: `5xx % of requests (from ${alb5xxMinRequests} requests / 5 min)`,
      period: ALARM_PERIOD,
    });
    const latencyP95 = alb.targetResponseTime({ statistic: 'p95', period: PERIOD, label: 'p95' });

    const taskCount = (service: ecs.FargateService, metricName: string, label: string) =>
      containerInsights
        ? new cloudwatch.Metric({
            namespace: 'ECS/ContainerInsights',
            metricName,
            dimensionsMap: {
              ClusterName: service.cluster.clusterName,
              ServiceName: service.serviceName,
            },
            statistic: 'Average',
            period: PERIOD,
            label,
          })
        : service.metricCpuUtilization({ statistic: 'SampleCount', period: PERIOD, label });
    const workersRunning = taskCount(workerService.service, 'RunningTaskCount', 'workers running');
    // Without Container Insights there is no desired count: the running count stands in.
    const workersDesired = containerInsights
      ? [taskCount(workerService.service, 'DesiredTaskCount', 'workers desired')]
      : [];

    const sluice = (metricName: string, statistic: string, label: string) =>
      queueScaling.metric(metricName, { statistic, period: PERIOD, label });
    const queueWaiting = sluice(METRIC.queueWaiting, 'Maximum', 'waiting');
    const oldestWaitingAge = sluice(
      METRIC.oldestWaitingAgeSeconds,
      'Maximum',
      'oldest waiting (s)',
    );
    const runsSucceeded = sluice(METRIC.runsSucceeded, 'Sum', 'succeeded');
    const runsFailed = sluice(METRIC.runsFailed, 'Sum', 'failed');
    const runsTimedOut = sluice(METRIC.runsTimedOut, 'Sum', 'timed out');
    const runFailurePercent = new cloudwatch.MathExpression({
      expression:
        '100 * (FILL(failed, 0) + FILL(timedOut, 0)) / (FILL(succeeded, 0) + FILL(failed, 0) + FILL(timedOut, 0))',
      usingMetrics: {
        succeeded: runsSucceeded.with({ period: ALARM_PERIOD }),
        failed: runsFailed.with({ period: ALARM_PERIOD }),
        timedOut: runsTimedOut.with({ period: ALARM_PERIOD }),
      },
      label: 'failed or timed out % of runs',
      period: ALARM_PERIOD,
    });
    // A count, whatever its source: RunningTaskCount's Maximum with Container Insights, else
    // CPUUtilization's SampleCount as is (its Maximum would be a CPU percentage, under 1 on an
    // idle worker).
    const runningCount = containerInsights
      ? workersRunning.with({ statistic: 'Maximum' })
      : workersRunning;
    // With minWorkers 0 an empty fleet is normal when idle: alarm only when jobs wait too.
    const noWorkersMetric =
      queueScaling.minWorkers === 0
        ? new cloudwatch.MathExpression({
            expression: 'IF(FILL(waiting, 0) >= 1 AND FILL(running, 0) < 1, 1, 0)',
            usingMetrics: { waiting: queueWaiting, running: runningCount },
            label: 'jobs waiting with no worker running',
            period: PERIOD,
          })
        : runningCount;

    const unhealthyHosts = appService.targetGroup.metrics.unhealthyHostCount({
      period: PERIOD,
      statistic: 'Maximum',
    });
    // Not KMS-encrypted: notifications carry only alarm names and states, and CloudWatch
    // cannot publish to a topic under the AWS-managed SNS key.
    const topic = new sns.Topic(this, 'AlarmTopic', { enforceSSL: true });
    this.alarmTopic = topic;
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      created.addAlarmAction(new actions.SnsAction(topic));
      created.addOkAction(new actions.SnsAction(topic));
      return created;
    };
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const thresholds = { usagePercent: usagePercentThreshold, freePercent: freePercentThreshold };
    const instancePanel =
      props.database === undefined
        ? undefined
        : instanceDatabasePanel(
            props.database,
            props.databaseMemoryGiB as number,
            thresholds,
            alarm,
            graph,
          );
    const serverlessPanel =
      props.serverlessDatabase === undefined
        ? undefined
        : serverlessDatabasePanel(props.serverlessDatabase, thresholds, alarm, graph);
    const redisPanel =
      props.cache === undefined ? undefined : cachePanel(props.cache, thresholds, alarm, graph);
    const sqsPanel = props.runQueue === undefined ? undefined : queuePanel(props.runQueue, graph);
    for (const queueAlarm of Object.values(sqsPanel?.alarms ?? {})) {
      queueAlarm.addAlarmAction(new actions.SnsAction(topic));
      queueAlarm.addOkAction(new actions.SnsAction(topic));
    }
    // The order is the alarm widget's order; the standard profile's stays as it was.
    this.alarms = {
      alb5xx: alarm('Alb5xxAlarm', {
        metric: fiveXxPercent,
        alarmDescription: `ALB 5xx responses above ${alb5xxPercentThreshold}% of requests over 5 minutes, counted from ${alb5xxMinRequests} requests`,
        threshold: alb5xxPercentThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      unhealthyHosts: alarm('UnhealthyHostsAlarm', {
        metric: unhealthyHosts,
        alarmDescription:
          'An APP task failed the ALB health check for 3 minutes: it is not serving and is being replaced',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...(instancePanel === undefined
        ? {}
        : {
            databaseFreeStorage: instancePanel.alarms.databaseFreeStorage,
            databaseFreeMemory: instancePanel.alarms.databaseFreeMemory,
          }),
      ...(redisPanel === undefined ? {} : { cacheEngineCpu: redisPanel.alarms.cacheEngineCpu }),
      ...(instancePanel === undefined
        ? {}
        : { databaseConnections: instancePanel.alarms.databaseConnections }),
      ...(redisPanel === undefined ? {} : { cacheMemory: redisPanel.alarms.cacheMemory }),
      ...serverlessPanel?.alarms,
      ...sqsPanel?.alarms,
      noWorkers:
        queueScaling.minWorkers === 0
          ? alarm('NoWorkersAlarm', {
              metric: noWorkersMetric,
              alarmDescription:
                'Jobs wait and no worker task is running: the burst scale-out is not starting workers',
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluationPeriods: 5,
              treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            })
          : alarm('NoWorkersAlarm', {
              metric: noWorkersMetric,
              alarmDescription: 'No worker task is running: queued flows are not being run',
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              evaluationPeriods: 5,
              // Container Insights publishes nothing for a service with no tasks.
              treatMissingData: cloudwatch.TreatMissingData.BREACHING,
            }),
      oldestWaitingAge: alarm('OldestWaitingAgeAlarm', {
        metric: oldestWaitingAge,
        alarmDescription: `A job waited over ${oldestWaitingAgeThresholdSeconds} s for a worker, two minutes running: sync webhooks time out`,
        threshold: oldestWaitingAgeThresholdSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // Two minutes, so one scale-out from an idle fleet (about a minute) does not page.
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // Any at all: a worker met another deployment's job, so two deployments share a queue.
      misroutedJobs: alarm('MisroutedJobsAlarm', {
        metric: sluice(METRIC.misroutedJobs, 'Sum', 'misrouted jobs').with({
          period: ALARM_PERIOD,
        }),
        alarmDescription:
          'Workers received jobs for runs their database does not know: another deployment shares this Redis and queue prefix (set a distinct SLUICE_QUEUE_PREFIX)',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      runFailureRate: alarm('RunFailureRateAlarm', {
        metric: runFailurePercent,
        alarmDescription: `Runs failed or timed out above ${runFailurePercentThreshold}% of finished runs over 5 minutes`,
        threshold: runFailurePercentThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };

    const serviceGraph = (title: string, service: ecs.FargateService) =>
      graph(title, [
        service.metricCpuUtilization({ period: PERIOD, label: 'CPU %' }),
        service.metricMemoryUtilization({ period: PERIOD, label: 'memory %' }),
      ]);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('ALB requests', [requests]),
          graph('ALB 5xx', [fiveXx], { right: [fiveXxPercent] }),
          graph('ALB p95 latency (s)', [latencyP95]),
        ],
        [
          serviceGraph('APP CPU and memory', appService.service),
          serviceGraph('Worker CPU and memory', workerService.service),
          graph('Tasks running and desired', [
            taskCount(appService.service, 'RunningTaskCount', 'APP running'),
            ...(containerInsights
              ? [taskCount(appService.service, 'DesiredTaskCount', 'APP desired')]
              : []),
            workersRunning,
            ...workersDesired,
          ]),
        ],
        [
          graph('Queue waiting and active', [
            queueWaiting,
            sluice(METRIC.queueActive, 'Maximum', 'active'),
          ]),
          graph('Oldest waiting job (s)', [oldestWaitingAge], {
            leftAnnotations: [{ value: oldestWaitingAgeThresholdSeconds, label: 'alarm' }],
          }),
          graph('Backlog per worker', [
            sluice(METRIC.backlogPerWorker, 'Average', 'backlog per worker'),
          ]),
        ],
        [
          graph('Runs finished', [runsSucceeded, runsFailed, runsTimedOut], {
            right: [runFailurePercent],
          }),
          graph('Run duration (ms)', [
            sluice(METRIC.runDurationMs, 'p50', 'p50'),
            sluice(METRIC.runDurationMs, 'p95', 'p95'),
          ]),
          graph('Sync webhook latency p95 (ms)', [
            sluice(METRIC.syncWebhookLatencyMs, 'p95', 'p95'),
          ]),
        ],
        [
          graph(
            props.runQueue === undefined
              ? 'Workers: desired, running, seen by BullMQ'
              : 'Workers: running, seen by the runtime',
            [
              ...workersDesired,
              workersRunning,
              sluice(
                METRIC.workers,
                'Maximum',
                props.runQueue === undefined ? 'BullMQ workers' : 'workers seen by the runtime',
              ),
            ],
            {
              width: 24,
              leftAnnotations: [
                { value: queueScaling.maxWorkers, label: 'max' },
                { value: queueScaling.minWorkers, label: 'min' },
              ],
            },
          ),
        ],
        ...[sqsPanel, instancePanel, serverlessPanel, redisPanel].flatMap((panel) =>
          panel === undefined ? [] : [panel.widgets],
        ),
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            height: 3,
            alarms: Object.values(this.alarms),
          }),
        ],
      ],
    });
  }
}
