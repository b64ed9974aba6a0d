import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../../lib/constructs/app-service';
import { Dashboard } from '../../../lib/constructs/dashboard';
import { QueueScaling } from '../../../lib/constructs/queue-scaling';
import { WorkerService } from '../../../lib/constructs/worker-service';
import { dataTier, newTestStack } from '../fixtures';

describe('Dashboard', () => {
  let template: Template;
  let body: string;

  beforeAll(() => {
    // GIVEN both services over the data tier (max_connections 80, one Redis node)
    const stack = newTestStack();
    const { network, cluster, task, database, cache } = dataTier(stack);
    const appService = new AppService(stack, 'App', {
      cluster,
      albSecurityGroup: network.albSecurityGroup,
      securityGroup: network.appSecurityGroup,
      task,
      apiKeySecret: new secretsmanager.Secret(stack, 'ApiKey'),
      maxTasks: 4,
    });
    const workerService = new WorkerService(stack, 'Worker', {
      cluster,
      securityGroup: network.workerSecurityGroup,
      task,
      publicUrl: appService.publicUrl,
      peakTasks: 2,
    });
    const queueScaling = new QueueScaling(stack, 'QueueScaling', {
      appService,
      workerService,
      minWorkers: 1,
      maxWorkers: 10,
    });
    // WHEN a Dashboard is added
    new Dashboard(stack, 'Dashboard', {
      appService,
      workerService,
      database,
      databaseMemoryGiB: 1,
      cache,
      queueScaling,
    });
    template = Template.fromStack(stack);
    body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties
        .DashboardBody,
    );
  });

  it.each([
    [
      'ALB requests, 5xx and p95 latency',
      [
        'RequestCount',
        'HTTPCode_ELB_5XX_Count',
        'HTTPCode_Target_5XX_Count',
        'TargetResponseTime',
        'p95',
      ],
    ],
    [
      'APP and worker CPU and memory',
      ['CPUUtilization', 'MemoryUtilization', 'APP CPU and memory', 'Worker CPU and memory'],
    ],
    ['running and desired tasks', ['RunningTaskCount', 'DesiredTaskCount']],
    [
      'RDS CPU, connections and free storage',
      ['AWS/RDS', 'DatabaseConnections', 'FreeStorageSpace'],
    ],
    [
      'Redis CPU, memory and connections',
      ['EngineCPUUtilization', 'DatabaseMemoryUsagePercentage', 'CurrConnections'],
    ],
    [
      'queue waiting, active, oldest age and backlog per worker',
      ['QueueWaiting', 'QueueActive', 'OldestWaitingAgeSeconds', 'BacklogPerWorker', 'Sluice'],
    ],
    ['run success and failure', ['RunsSucceeded', 'RunsFailed', 'RunsTimedOut']],
    ['p50 and p95 run duration', ['RunDurationMs', '\\"stat\\":\\"p50\\"', '\\"stat\\":\\"p95\\"']],
    ['sync webhook p95', ['SyncWebhookLatencyMs']],
    [
      'desired versus running workers',
      ['Workers: desired, running, seen by BullMQ', '\\"Workers\\",\\"Deployment\\"'],
    ],
  ])('graphs %s', (_, metrics) => {
    for (const metric of metrics) expect(body).toContain(metric);
  });

  it('alarms when ALB 5xx pass 1% of requests, only from 100 requests in 5 minutes', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression:
              'IF(FILL(requests, 0) >= 100, 100 * (FILL(elbErrors, 0) + FILL(targetErrors, 0)) / requests, 0)',
          }),
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'RequestCount' }),
              Period: 300,
            }),
          }),
        ]),
      }),
    );
  });

  it('alarms when an APP target stays unhealthy for 3 minutes', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'UnHealthyHostCount',
        Statistic: 'Maximum',
        Threshold: 1,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: Match.arrayWith([
          Match.objectLike({ Name: 'LoadBalancer' }),
          Match.objectLike({ Name: 'TargetGroup' }),
        ]),
      }),
    );
  });

  it('alarms when RDS free storage falls under 10% of the 20 GiB allocated', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Namespace: 'AWS/RDS',
        MetricName: 'FreeStorageSpace',
        Threshold: Math.floor(2 * 1024 ** 3),
        ComparisonOperator: 'LessThanThreshold',
      }),
    );
  });

  it('alarms when RDS freeable memory falls under 10% of the instance memory', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Namespace: 'AWS/RDS',
        MetricName: 'FreeableMemory',
        Threshold: Math.floor(1024 ** 3 / 10),
        ComparisonOperator: 'LessThanThreshold',
      }),
    );
  });

  it('alarms when the busiest Redis node passes 80% engine CPU for 5 minutes', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Threshold: 80,
        EvaluationPeriods: 5,
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'EngineCPUUtilization' }),
            }),
          }),
        ]),
      }),
    );
  });

  it('alarms when RDS connections pass 80% of max_connections', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Namespace: 'AWS/RDS',
        MetricName: 'DatabaseConnections',
        Threshold: 64,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it('alarms when Redis memory passes 80%', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Threshold: 80,
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'DatabaseMemoryUsagePercentage' }),
            }),
          }),
        ]),
      }),
    );
  });

  it('alarms when no worker task is running, treating silence as none', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                Namespace: 'ECS/ContainerInsights',
                MetricName: 'RunningTaskCount',
                Dimensions: Match.arrayWith([
                  {
                    Name: 'ServiceName',
                    Value: Match.objectLike({
                      'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerService'), 'Name'],
                    }),
                  },
                ]),
              }),
            }),
          }),
        ],
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    );
  });

  it('alarms when the oldest waiting job passes the 30 s sync-webhook budget', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                Namespace: 'Sluice',
                MetricName: 'OldestWaitingAgeSeconds',
              }),
              Stat: 'Maximum',
            }),
          }),
        ],
        Threshold: 30,
        EvaluationPeriods: 2,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it('alarms when failed or timed-out runs pass 5% of finished runs', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression:
              '100 * (FILL(failed, 0) + FILL(timedOut, 0)) / (FILL(succeeded, 0) + FILL(failed, 0) + FILL(timedOut, 0))',
          }),
        ]),
      }),
    );
  });

  it('alarms on the first job a worker finds belongs to another deployment', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'MisroutedJobs', Namespace: 'Sluice' }),
              Period: 300,
              Stat: 'Sum',
            }),
          }),
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
  });

  it('sends every alarm to the alarm topic', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
      .filter(([id]) => id.startsWith('Dashboard'))
      .map(([, alarm]) => alarm);
    expect(alarms).toHaveLength(11);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^DashboardAlarmTopic/) },
      ]);
    }
  });
});
