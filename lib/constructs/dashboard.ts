import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AppService } from './app-service';
import type { Cache } from './cache';
import type { Database } from './database';
import type { WorkerService } from './worker-service';

export interface DashboardProps {
  readonly appService: AppService;
  readonly workerService: WorkerService;
  readonly database: Database;
  readonly cache: Cache;
  /**
   * ALB 5xx responses, as a percentage of requests, that raise the alarm.
   * @default 1
   */
  readonly alb5xxPercentThreshold?: number;
  /**
   * Share of max_connections, RDS memory, or Redis memory in use that raises the alarm.
   * @default 80
   */
  readonly usagePercentThreshold?: number;
}

const PERIOD = Duration.minutes(1);
/** The 5xx ratio is judged over 5 minutes; a 1-minute ratio on a quiet API swings on one error. */
const ALARM_PERIOD = Duration.minutes(5);

/**
 * One CloudWatch dashboard for the whole deployment (ALB, both tiers, RDS, Redis) and the
 * alarms that page: ALB 5xx over 1%, RDS connections or Redis memory over 80%, no worker
 * running. Alarms notify `alarmTopic`; subscribe to it after deploying.
 */
export class Dashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;
  readonly alarms: {
    readonly alb5xx: cloudwatch.Alarm;
    readonly databaseConnections: cloudwatch.Alarm;
    readonly cacheMemory: cloudwatch.Alarm;
    readonly noWorkers: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const alb5xxPercentThreshold = props.alb5xxPercentThreshold ?? 1;
    const usagePercentThreshold = props.usagePercentThreshold ?? 80;
    for (const [name, value] of [
      ['alb5xxPercentThreshold', alb5xxPercentThreshold],
      ['usagePercentThreshold', usagePercentThreshold],
    ] as const) {
      if (!(value > 0 && value <= 100)) {
        throw new Error(`${name} must be a percentage above 0 and at most 100 (got ${value})`);
      }
    }
    const { appService, workerService, database, cache } = props;
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
    const fiveXxPercent = new cloudwatch.MathExpression({
      expression: '100 * (FILL(elbErrors, 0) + FILL(targetErrors, 0)) / requests',
      usingMetrics: {
        elbErrors: elb5xx.with({ period: ALARM_PERIOD }),
        targetErrors: target5xx.with({ period: ALARM_PERIOD }),
        requests: requests.with({ period: ALARM_PERIOD }),
      },
      label: '5xx % of requests',
      period: ALARM_PERIOD,
    });
    const latencyP95 = alb.targetResponseTime({ statistic: 'p95', period: PERIOD, label: 'p95' });

    const taskCount = (service: ecs.FargateService, metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: {
          ClusterName: service.cluster.clusterName,
          ServiceName: service.serviceName,
        },
        statistic: 'Average',
        period: PERIOD,
        label,
      });
    const workersRunning = taskCount(workerService.service, 'RunningTaskCount', 'workers running');

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
    const cacheMemory = cacheMetric('DatabaseMemoryUsagePercentage', 'Maximum');
    const cacheMemoryMax = new cloudwatch.MathExpression({
      expression: `MAX([${cacheMemory.map((_, index) => `m${index}`).join(', ')}])`,
      usingMetrics: Object.fromEntries(cacheMemory.map((metric, index) => [`m${index}`, metric])),
      label: 'memory used % (busiest node)',
      period: PERIOD,
    });
    const databaseConnections = database.instance.metricDatabaseConnections({
      period: PERIOD,
      statistic: 'Maximum',
    });
    const connectionLimit = Math.floor((database.maxConnections * usagePercentThreshold) / 100);

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
    this.alarms = {
      alb5xx: alarm('Alb5xxAlarm', {
        metric: fiveXxPercent,
        alarmDescription: `ALB 5xx responses above ${alb5xxPercentThreshold}% of requests`,
        threshold: alb5xxPercentThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      databaseConnections: alarm('DatabaseConnectionsAlarm', {
        metric: databaseConnections,
        alarmDescription: `RDS connections above ${usagePercentThreshold}% of max_connections ${database.maxConnections}`,
        threshold: connectionLimit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      cacheMemory: alarm('CacheMemoryAlarm', {
        metric: cacheMemoryMax,
        alarmDescription: `Redis memory above ${usagePercentThreshold}%: with noeviction, a full Redis rejects new runs`,
        threshold: usagePercentThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      noWorkers: alarm('NoWorkersAlarm', {
        metric: workersRunning.with({ statistic: 'Maximum' }),
        alarmDescription: 'No worker task is running: queued flows are not being run',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 5,
        // Container Insights publishes nothing for a service with no tasks.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    };

    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
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
            taskCount(appService.service, 'DesiredTaskCount', 'APP desired'),
            workersRunning,
            taskCount(workerService.service, 'DesiredTaskCount', 'workers desired'),
          ]),
        ],
        [
          graph('RDS CPU %', [database.instance.metricCPUUtilization({ period: PERIOD })]),
          graph('RDS connections', [databaseConnections], {
            leftAnnotations: [{ value: database.maxConnections, label: 'max_connections' }],
          }),
          graph('RDS free storage (bytes)', [
            database.instance.metricFreeStorageSpace({ period: PERIOD }),
          ]),
        ],
        [
          graph('Redis engine CPU %', cacheMetric('EngineCPUUtilization', 'Average')),
          graph('Redis memory used %', cacheMemory, {
            leftAnnotations: [{ value: usagePercentThreshold, label: 'alarm' }],
          }),
          graph('Redis connections', cacheMetric('CurrConnections', 'Maximum')),
        ],
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
