import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SERVERLESS_STACK_ALARMS,
  SERVERLESS_STACK_SECRETS,
  STACK_HIGH_RES_ALARMS,
} from '../../../lib/pricing';
import { SluiceStack, type SluiceStackProps } from '../../../lib/stacks/sluice-stack';
import { DEFAULT_FLOW_TIMEOUT_S } from '../../../runtime/limits';
import { assetHashSerializer } from '../asset-hash-serializer';
import { newCdkApp } from '../fixtures';

expect.addSnapshotSerializer(assetHashSerializer);

interface ContainerDefinition {
  Environment: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
}
type Resource = { Properties: Record<string, unknown> } & Record<string, unknown>;
type MetricStat = { Metric: { MetricName: string }; Stat: string };

const newStack = (props: SluiceStackProps = {}) =>
  new SluiceStack(newCdkApp(), 'Sluice', { profile: 'serverless', ...props });
/** Synth wall time; the budget per profile is 10 s. */
const SYNTH_BUDGET_MS = 10_000;

describe('SluiceStack, serverless profile', () => {
  let template: Template;
  let synthMs: number;
  let containers: Record<'app' | 'worker', ContainerDefinition>;
  const resourcesOf = (type: string) =>
    Object.entries(template.findResources(type)) as [string, Resource][];
  /** The run queue's logical id: the queue that is not the dead-letter queue. */
  const runQueueId = () => {
    const ids = resourcesOf('AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => !id.includes('DeadLetter'));
    expect(ids).toHaveLength(1);
    return ids[0] as string;
  };
  const env = (role: 'app' | 'worker', name: string) =>
    containers[role].Environment.find((variable) => variable.Name === name)?.Value;

  beforeAll(() => {
    // GIVEN the serverless profile and the default peak (10) WHEN the stack is synthesized
    const started = performance.now();
    template = Template.fromStack(newStack());
    synthMs = performance.now() - started;
    const definitions = resourcesOf('AWS::ECS::TaskDefinition');
    const containerOf = (prefix: string) => {
      const found = definitions.find(([id]) => id.startsWith(prefix));
      expect(found, prefix).toBeDefined();
      const [, definition] = found as [string, Resource];
      return (
        definition.Properties.ContainerDefinitions as ContainerDefinition[]
      )[0] as ContainerDefinition;
    };
    containers = { app: containerOf('AppTask'), worker: containerOf('WorkerTask') };
  });

  it('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  it(`synthesizes within ${SYNTH_BUDGET_MS / 1000} s, as the standard profile does`, () => {
    expect(synthMs).toBeLessThan(SYNTH_BUDGET_MS);
    const started = performance.now();
    Template.fromStack(new SluiceStack(newCdkApp(), 'Standard', {}));
    expect(performance.now() - started).toBeLessThan(SYNTH_BUDGET_MS);
  });

  describe('queue', () => {
    it('has no ElastiCache resource, cache security group or Redis rule at all', () => {
      const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>);
      expect(types.filter((resource) => resource.Type.startsWith('AWS::ElastiCache::'))).toEqual(
        [],
      );
      const groups = resourcesOf('AWS::EC2::SecurityGroup');
      expect(groups.map(([, group]) => group.Properties.GroupDescription).sort()).toEqual([
        'Sluice APP tasks',
        'Sluice RDS PostgreSQL',
        'Sluice internal ALB: CloudFront in',
        'Sluice worker tasks',
      ]);
      const ingress = resourcesOf('AWS::EC2::SecurityGroupIngress');
      expect(ingress.filter(([, rule]) => rule.Properties.FromPort === 6379)).toEqual([]);
    });

    it('encrypts the queue and its dead-letter queue, and redrives after 3 receives', () => {
      const queues = resourcesOf('AWS::SQS::Queue');
      expect(queues).toHaveLength(2);
      for (const [, queue] of queues) {
        expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      }
      const [deadLetterId] = queues.find(([id]) => id.includes('DeadLetter')) ?? [];
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] },
          maxReceiveCount: 3,
        },
      });
    });

    it('refuses any request to either queue that is not over TLS', () => {
      const policies = resourcesOf('AWS::SQS::QueuePolicy');
      expect(policies).toHaveLength(2);
      for (const [, policy] of policies) {
        expect(JSON.stringify(policy.Properties)).toContain('"aws:SecureTransport":"false"');
      }
    });

    it('redrives after queueMaxReceiveCount receives when it is set', () => {
      const custom = Template.fromStack(newStack({ queueMaxReceiveCount: 5 }));
      custom.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
      });
    });

    it('alarms to the alarm topic as soon as the dead-letter queue holds a message', () => {
      const [topicId] = resourcesOf('AWS::SNS::Topic')[0] ?? [];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: topicId }],
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'QueueName'] },
          },
        ],
      });
    });

    // A message lives until its run's outcome is recorded: the wait, then up to the flow timeout
    // (600 s), or a visibility timeout (120 s) more when its worker died.
    it('alarms to the alarm topic when the oldest run message outlives a run and a visibility timeout', () => {
      const [topicId] = resourcesOf('AWS::SNS::Topic')[0] ?? [];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Statistic: 'Maximum',
        Period: 60,
        Threshold: DEFAULT_FLOW_TIMEOUT_S + 120,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 2,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [runQueueId(), 'QueueName'] } }],
      });
    });

    it('gives both tiers SLUICE_QUEUE=sqs and the queue URL, and no Redis variable', () => {
      for (const role of ['app', 'worker'] as const) {
        expect(env(role, 'SLUICE_QUEUE')).toBe('sqs');
        expect(env(role, 'SLUICE_SQS_QUEUE_URL')).toEqual({ Ref: runQueueId() });
        const names = [
          ...containers[role].Environment.map((variable) => variable.Name),
          ...(containers[role].Secrets ?? []).map((secret) => secret.Name),
        ];
        expect(names.filter((name) => /REDIS|QUEUE_PREFIX/.test(name))).toEqual([]);
      }
    });

    it('lets workers receive, delete, extend and count, and the APP send, extend and count', () => {
      const actionsOf = (policyPrefix: string) => {
        const policies = resourcesOf('AWS::IAM::Policy').filter(([id]) =>
          id.startsWith(policyPrefix),
        );
        const statements = policies.flatMap(
          ([, policy]) =>
            (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] })
              .Statement,
        );
        return statements.flatMap((statement) => [statement.Action].flat());
      };
      const worker = actionsOf('WorkerTaskTaskDefinitionTaskRole');
      const app = actionsOf('AppTaskTaskDefinitionTaskRole');
      expect(worker).toEqual(
        expect.arrayContaining([
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ]),
      );
      expect(worker).not.toContain('sqs:SendMessage');
      expect(app).toEqual(
        expect.arrayContaining([
          'sqs:SendMessage',
          'sqs:GetQueueAttributes',
          'sqs:ChangeMessageVisibility',
        ]),
      );
      expect(app).not.toContain('sqs:ReceiveMessage');
      expect(app).not.toContain('sqs:DeleteMessage');
    });
  });

  describe('database', () => {
    it('is Aurora Serverless v2 PostgreSQL at 0 ACU that pauses after 10 minutes, up to the sized max', () => {
      template.resourceCountIs('AWS::RDS::DBInstance', 1);
      template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless' });
      template.hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        ServerlessV2ScalingConfiguration: {
          MinCapacity: 0,
          MaxCapacity: 1,
          SecondsUntilAutoPause: 600,
        },
        StorageEncrypted: true,
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: true,
      });
    });

    it('keeps 0.5 ACU warm with no auto-pause when databaseMinAcu is 0.5', () => {
      const warm = Template.fromStack(newStack({ databaseMinAcu: 0.5, databaseMaxAcu: 4 }));
      warm.hasResourceProperties('AWS::RDS::DBCluster', {
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      });
    });

    it('sizes max ACU from peakConcurrentFlows', () => {
      const big = Template.fromStack(newStack({ peakConcurrentFlows: 200 }));
      big.hasResourceProperties('AWS::RDS::DBCluster', {
        ServerlessV2ScalingConfiguration: Match.objectLike({ MaxCapacity: 8 }),
      });
    });

    it('forces TLS, and tasks connect as the IAM role with verify-full', () => {
      template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Parameters: { 'rds.force_ssl': '1' },
      });
      for (const role of ['app', 'worker'] as const) {
        expect(env(role, 'SLUICE_DB_AUTH')).toBe('iam');
        expect(env(role, 'SLUICE_DB_CA')).toBe('rds');
        expect(JSON.stringify(env(role, 'DATABASE_URL'))).toContain('sluice_app@');
        expect(JSON.stringify(env(role, 'DATABASE_URL'))).toContain('sslmode=verify-full');
      }
    });

    it('rejects a pause shorter than Aurora allows', () => {
      expect(() => newStack({ databasePauseAfterMinutes: 2 })).toThrow(
        'databasePauseAfterMinutes must be an integer from 5 to 1440 (got 2)',
      );
    });
  });

  describe('network', () => {
    it('has no NAT gateway and runs both tiers in public subnets with public IPs', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      for (const [, service] of resourcesOf('AWS::ECS::Service')) {
        const network = service.Properties.NetworkConfiguration as {
          AwsvpcConfiguration: { AssignPublicIp: string; Subnets: { Ref: string }[] };
        };
        expect(network.AwsvpcConfiguration.AssignPublicIp).toBe('ENABLED');
        for (const subnet of network.AwsvpcConfiguration.Subnets) {
          expect(subnet.Ref).toMatch(/publicSubnet/);
        }
      }
    });

    it('keeps the internal ALB in isolated subnets, never a public one', () => {
      const [[, alb]] = resourcesOf('AWS::ElasticLoadBalancingV2::LoadBalancer') as [
        [string, Resource],
      ];
      expect(alb.Properties.Scheme).toBe('internal');
      for (const subnet of alb.Properties.Subnets as { Ref: string }[]) {
        expect(subnet.Ref).toMatch(/dataSubnet/);
      }
    });

    it('keeps the tasks in private subnets behind one NAT gateway when natGateways is 1', () => {
      const withNat = Template.fromStack(newStack({ natGateways: 1 }));
      withNat.resourceCountIs('AWS::EC2::NatGateway', 1);
      withNat.hasResourceProperties('AWS::ECS::Service', {
        NetworkConfiguration: {
          AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }),
        },
      });
    });

    it('keeps every existing subnet, the database’s included, when natGateways changes', () => {
      // GIVEN the default (no NAT) and the same stack with natGateways 1, as an update would be
      const cidrs = (stack: Template) =>
        Object.fromEntries(
          Object.entries(stack.findResources('AWS::EC2::Subnet')).map(([id, subnet]) => [
            id,
            subnet.Properties.CidrBlock,
          ]),
        );
      const withoutNat = cidrs(template);
      const withNat = cidrs(Template.fromStack(newStack({ natGateways: 1 })));
      // THEN no subnet of the deployed VPC changes its CIDR (a replacement that CloudFormation
      // cannot even create beside the old one); NAT only adds the private task subnets
      expect(Object.keys(withoutNat)).toHaveLength(4);
      expect(withNat).toMatchObject(withoutNat);
      expect(Object.keys(withNat)).toHaveLength(6);
    });
  });

  describe('tiers', () => {
    it('runs one ARM64 APP task of 0.25 vCPU / 0.5 GB by default, scaled on request count', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: '256',
        Memory: '512',
        RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        ContainerDefinitions: [
          Match.objectLike({
            Name: 'sluice',
            Environment: Match.arrayWith([{ Name: 'SLUICE_ROLE', Value: 'app' }]),
          }),
        ],
      });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ResourceId: Match.objectLike({
          'Fn::Join': Match.arrayWith([
            Match.arrayWith([
              Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('AppService'), 'Name'] }),
            ]),
          ]),
        }),
        MinCapacity: 1,
        MaxCapacity: 2,
      });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: Match.objectLike({
            PredefinedMetricType: 'ALBRequestCountPerTarget',
          }),
        }),
      });
    });

    it('keeps one APP task at rest at any peak, as npm run size prices the idle', () => {
      // GIVEN a peak of 50, which sizes the APP tier at 5 tasks under load
      const big = Template.fromStack(newStack({ peakConcurrentFlows: 50 }));
      // THEN the APP's scalable target still rests at one task and scales out to 10
      const appTargets = Object.values(
        big.findResources('AWS::ApplicationAutoScaling::ScalableTarget'),
      ).filter((target) => JSON.stringify(target.Properties.ResourceId).includes('AppService'));
      expect(appTargets.map((target) => target.Properties)).toEqual([
        expect.objectContaining({ MinCapacity: 1, MaxCapacity: 10 }),
      ]);
    });

    it('runs workers on FARGATE_SPOT only, from 1 by default', () => {
      template.hasResourceProperties('AWS::ECS::Service', {
        CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 1,
        MaxCapacity: 10,
      });
    });

    it('lets the worker fleet sleep at minWorkers 0', () => {
      const sleeping = Template.fromStack(newStack({ minWorkers: 0 }));
      sleeping.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 0,
        MaxCapacity: 10,
      });
    });
  });

  describe('scaling on AWS/SQS metrics', () => {
    const workerPolicies = () =>
      resourcesOf('AWS::ApplicationAutoScaling::ScalingPolicy').filter(([id]) =>
        id.startsWith('WorkerServiceTaskCountTarget'),
      );

    it('tracks (visible + in flight) / running worker tasks with metric math', () => {
      const tracking = workerPolicies().find(([id]) => id.includes('SqsBacklogPerTask'));
      const spec = tracking?.[1].Properties.TargetTrackingScalingPolicyConfiguration as {
        TargetValue: number;
        CustomizedMetricSpecification: Record<string, unknown>;
      };
      expect(spec.TargetValue).toBe(1);
      expect(Object.keys(spec.CustomizedMetricSpecification)).toEqual(['Metrics']);
      const metrics = spec.CustomizedMetricSpecification.Metrics as {
        Id: string;
        Expression?: string;
        ReturnData: boolean;
        MetricStat?: { Metric: { Namespace: string; MetricName: string }; Stat: string };
      }[];
      const stat = (id: string) => metrics.find((metric) => metric.Id === id)?.MetricStat;
      expect(stat('visible')?.Metric).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
      });
      expect(stat('inflight')?.Metric).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesNotVisible',
      });
      expect(stat('tasks')).toMatchObject({
        Metric: { Namespace: 'AWS/ECS', MetricName: 'CPUUtilization' },
        Stat: 'SampleCount',
      });
      expect(metrics.filter((metric) => metric.ReturnData)).toEqual([
        expect.objectContaining({ Expression: '(visible + inflight) / tasks' }),
      ]);
      expect(JSON.stringify(metrics)).toContain(`"${runQueueId()}"`);
    });

    it('steps out from 0 on a 1-minute ApproximateNumberOfMessagesVisible alarm', () => {
      const step = workerPolicies().find(
        ([id]) => id.includes('SqsVisibleScaleOut') && !id.includes('Lower'),
      );
      expect(step).toBeDefined();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Period: 60,
        EvaluationPeriods: 1,
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [runQueueId(), 'QueueName'] },
          },
        ],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('SqsVisibleScaleOut') }],
      });
    });

    it('keeps the 10-second QueueWaiting burst alarm as the fast path', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Sluice',
        MetricName: 'QueueWaiting',
        Period: 10,
      });
    });
  });

  describe('dashboard', () => {
    it('shows SQS and Aurora widgets, and no Redis or RDS-instance widget', () => {
      const [[, dashboard]] = resourcesOf('AWS::CloudWatch::Dashboard') as [[string, Resource]];
      const body = JSON.stringify(dashboard.Properties.DashboardBody);
      expect(body).toContain('SQS messages: visible and in flight');
      expect(body).toContain('SQS dead-letter queue');
      expect(body).toContain('Aurora capacity (ACU)');
      expect(body).not.toContain('Redis');
      expect(body).not.toContain('ECS/ContainerInsights');
    });

    // The running count is the SampleCount of AWS/ECS CPUUtilization; its Maximum is a CPU
    // percentage, under 1 whenever the warm worker is idle.
    it.each([
      ['1', undefined],
      ['0', 0],
    ] as const)(
      'counts running workers, not their CPU, in the no-worker alarm at minWorkers %s',
      (_, minWorkers) => {
        const alarms = (
          minWorkers === undefined ? template : Template.fromStack(newStack({ minWorkers }))
        ).findResources('AWS::CloudWatch::Alarm');
        const [alarm, ...others] = Object.entries(alarms)
          .filter(([id]) => id.startsWith('DashboardNoWorkersAlarm'))
          .map(([, resource]) => resource as Resource);
        expect(others).toEqual([]);
        const cpuStats = ((alarm as Resource).Properties.Metrics as { MetricStat?: MetricStat }[])
          .map((metric) => metric.MetricStat)
          .filter((stat) => stat?.Metric.MetricName === 'CPUUtilization')
          .map((stat) => stat?.Stat);
        expect(cpuStats).toEqual(['SampleCount']);
      },
    );
  });

  it('declares the alarms and secrets that npm run size prices for this profile', () => {
    const tracking = resourcesOf('AWS::ApplicationAutoScaling::ScalingPolicy').filter(
      ([, policy]) => policy.Properties.PolicyType === 'TargetTrackingScaling',
    );
    // Target tracking creates two alarms per policy itself, outside the template.
    expect(resourcesOf('AWS::CloudWatch::Alarm')).toHaveLength(
      SERVERLESS_STACK_ALARMS + STACK_HIGH_RES_ALARMS - 2 * tracking.length,
    );
    expect(resourcesOf('AWS::SecretsManager::Secret')).toHaveLength(SERVERLESS_STACK_SECRETS);
  });

  describe.each([
    ['retain', 'Snapshot', 'Retain'],
    ['destroy', 'Delete', 'Delete'],
  ] as const)('with removalPolicy %s', (removalPolicy, cluster, kept) => {
    it(`gives the Aurora cluster ${cluster} and its secret, the queues, bucket and logs ${kept}`, () => {
      const resources = Template.fromStack(newStack({ removalPolicy })).toJSON()
        .Resources as Record<
        string,
        { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }
      >;
      const policyOf = (type: string, prefix: string) => {
        const matches = Object.entries(resources).filter(
          ([id, resource]) => resource.Type === type && id.startsWith(prefix),
        );
        expect(matches, `${type} ${prefix}`).toHaveLength(1);
        const [[, resource] = ['', { Type: type }]] = matches;
        expect(resource.UpdateReplacePolicy).toBe(resource.DeletionPolicy);
        return resource.DeletionPolicy;
      };
      expect(policyOf('AWS::RDS::DBCluster', 'ServerlessDatabaseCluster')).toBe(cluster);
      expect(policyOf('AWS::SecretsManager::Secret', 'SluiceServerlessDatabaseClusterSecret')).toBe(
        kept,
      );
      expect(policyOf('AWS::SQS::Queue', 'RunQueueDeadLetterQueue')).toBe(kept);
      expect(policyOf('AWS::S3::Bucket', 'FileStoreBucket')).toBe(kept);
      expect(policyOf('AWS::Logs::LogGroup', 'WorkerTaskLogs')).toBe(kept);
    });
  });

  it('rejects standard-only and serverless-only props in the other profile', () => {
    expect(() => newStack({ multiAz: false })).toThrow(
      'multiAz and queuePrefix apply to the standard profile only (got multiAz false)',
    );
    expect(() => new SluiceStack(newCdkApp(), 'Sluice', { databaseMinAcu: 0.5 })).toThrow(
      'databaseMinAcu applies to the serverless profile only (got 0.5)',
    );
  });
});
