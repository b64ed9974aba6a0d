import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../../lib/constructs/app-service';
import { Dashboard } from '../../../lib/constructs/dashboard';
import { QueueScaling, type QueueScalingProps } from '../../../lib/constructs/queue-scaling';
import { WorkerService } from '../../../lib/constructs/worker-service';
import { dataTier, newTestStack } from '../fixtures';

function build(props: Partial<QueueScalingProps> = {}, withDashboard = false) {
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
    maxWorkers: 20,
    ...props,
  });
  if (withDashboard) {
    new Dashboard(stack, 'Dashboard', {
      appService,
      workerService,
      database,
      databaseMemoryGiB: 1,
      cache,
      queueScaling,
    });
  }
  return Template.fromStack(stack);
}

describe('QueueScaling', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN both services WHEN QueueScaling is added with min 1 and max 20
    template = build();
  });

  it('bounds the worker service between minWorkers and maxWorkers', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1,
      MaxCapacity: 20,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
  });

  it('tracks BacklogPerWorker at 1.0 with explicit cooldowns', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 1,
        ScaleOutCooldown: 60,
        ScaleInCooldown: 300,
        CustomizedMetricSpecification: Match.objectLike({
          Namespace: 'Sluice',
          MetricName: 'BacklogPerWorker',
          Statistic: 'Average',
          Dimensions: [{ Name: 'Deployment', Value: 'Test' }],
        }),
      }),
    });
  });

  it('adds workers in steps from a 10-second QueueWaiting alarm with one evaluation period', () => {
    const policies = template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', {
      Properties: { PolicyType: 'StepScaling' },
    });
    const [policyId, policy] = Object.entries(policies)[0] ?? [];
    expect(policy?.Properties.StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ChangeInCapacity',
      Cooldown: 30,
      MetricAggregationType: 'Maximum',
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 2, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: 2, MetricIntervalUpperBound: 9, ScalingAdjustment: 3 },
        { MetricIntervalLowerBound: 9, MetricIntervalUpperBound: 29, ScalingAdjustment: 10 },
        { MetricIntervalLowerBound: 29, ScalingAdjustment: 30 },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Sluice',
      MetricName: 'QueueWaiting',
      Statistic: 'Maximum',
      Period: 10,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: policyId }],
    });
  });

  it('lets both tiers publish metrics only into the Sluice namespace', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      /^(App|Worker)TaskTaskDefinitionTaskRoleDefaultPolicy/.test(id),
    );
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual({
        Action: 'cloudwatch:PutMetricData',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'Sluice' } },
        Effect: 'Allow',
        Resource: '*',
      });
    }
  });

  it('lets workers change scale-in protection of their own cluster tasks only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^WorkerTaskTaskDefinitionTaskRoleDefaultPolicy'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'ecs:UpdateTaskProtection',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':ecs:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':task/',
                  { Ref: Match.stringLikeRegexp('^Cluster') },
                  '/*',
                ],
              ],
            },
          },
        ]),
      },
    });
    const appPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('AppTaskTaskDefinitionTaskRoleDefaultPolicy'),
    )?.[1];
    expect(JSON.stringify(appPolicy)).not.toContain('ecs:UpdateTaskProtection');
  });

  it("starts workers with --no-node-snapshot (isolated-vm) and the app with Node's snapshot", () => {
    const commands = Object.fromEntries(
      Object.values(template.findResources('AWS::ECS::TaskDefinition')).map((resource) => {
        const [container] = resource.Properties.ContainerDefinitions as {
          Command: string[];
          Environment: { Name: string; Value: unknown }[];
        }[];
        const role = container?.Environment.find((e) => e.Name === 'SLUICE_ROLE')?.Value;
        return [String(role), container?.Command];
      }),
    );
    expect(commands).toEqual({
      app: ['node', 'main.mjs'],
      worker: ['node', '--no-node-snapshot', '--max-semi-space-size=2', 'main.mjs'],
    });
  });

  it('turns the cloudwatch metrics driver on for both tiers at a 10 s interval', () => {
    for (const role of ['app', 'worker']) {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            Environment: Match.arrayWith([
              { Name: 'SLUICE_ROLE', Value: role },
              { Name: 'SLUICE_METRICS', Value: 'cloudwatch' },
              { Name: 'SLUICE_METRICS_INTERVAL_S', Value: '10' },
              { Name: 'SLUICE_DEPLOYMENT_NAME', Value: 'Test' },
            ]),
          }),
        ],
      });
    }
  });

  describe('when minWorkers is 0', () => {
    it('scales from 0 and alarms only on jobs waiting with no worker running', () => {
      const scaled = build({ minWorkers: 0 }, true);
      scaled.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 0,
      });
      scaled.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmDescription: Match.stringLikeRegexp('^Jobs wait and no worker task is running'),
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression: 'IF(FILL(waiting, 0) >= 1 AND FILL(running, 0) < 1, 1, 0)',
          }),
        ]),
      });
    });
  });

  it('rejects maxWorkers below minWorkers, naming the prop', () => {
    expect(() => build({ minWorkers: 5, maxWorkers: 3 })).toThrow(
      'maxWorkers must be an integer of at least max(1, minWorkers 5) (got 3)',
    );
  });
});
