import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_ALARMS, STACK_HIGH_RES_ALARMS, STACK_SECRETS } from '../../../lib/pricing';
import { SluiceStack, type SluiceStackProps } from '../../../lib/stacks/sluice-stack';
import { ALB_IDLE_TIMEOUT_S, SECRETS_ENCRYPTION_CONTEXT } from '../../../runtime/limits';
import { assetHashSerializer } from '../asset-hash-serializer';
import { newCdkApp } from '../fixtures';

expect.addSnapshotSerializer(assetHashSerializer);

interface ContainerDefinition {
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
  StopTimeout?: number;
}

const newStack = (props: SluiceStackProps = {}) => new SluiceStack(newCdkApp(), 'Sluice', props);

describe('SluiceStack', () => {
  let template: Template;
  let containers: Record<'app' | 'worker', ContainerDefinition>;
  const resourcesOf = (type: string) => template.findResources(type);
  const logicalIdOf = (type: string, prefix: string) => {
    const ids = Object.keys(resourcesOf(type)).filter((id) => id.startsWith(prefix));
    expect(ids).toHaveLength(1);
    return ids[0] as string;
  };
  const env = (role: 'app' | 'worker', name: string) =>
    containers[role].Environment.find((variable) => variable.Name === name)?.Value;

  beforeAll(() => {
    // GIVEN the default context (peakConcurrentFlows 10) WHEN the stack is synthesized
    template = Template.fromStack(newStack());
    const definitions = Object.entries(resourcesOf('AWS::ECS::TaskDefinition'));
    const containerOf = (prefix: string) =>
      definitions.find(([id]) => id.startsWith(prefix))?.[1].Properties.ContainerDefinitions[0];
    containers = { app: containerOf('AppTask'), worker: containerOf('WorkerTask') };
  });

  it('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  describe('sizing', () => {
    const scalableTargetOf = (servicePrefix: string) =>
      Object.values(resourcesOf('AWS::ApplicationAutoScaling::ScalableTarget')).find((target) =>
        JSON.stringify(target.Properties.ResourceId).includes(servicePrefix),
      )?.Properties;

    it('autoscales workers from minWorkers (1) up to one per concurrent flow at the peak', () => {
      expect(scalableTargetOf('WorkerService')).toMatchObject({ MinCapacity: 1, MaxCapacity: 10 });
    });

    it('autoscales apps from max(2, ceil(workers / 10)) to twice that', () => {
      expect(scalableTargetOf('AppService')).toMatchObject({ MinCapacity: 2, MaxCapacity: 4 });
    });

    it('keeps every task pool under max_connections with both tiers at their maximum', () => {
      const [parameters] = Object.values(resourcesOf('AWS::RDS::DBParameterGroup'));
      const maxConnections = Number(parameters?.Properties.Parameters.max_connections);
      const pool = Number(env('app', 'SLUICE_DB_POOL_SIZE'));
      expect(env('worker', 'SLUICE_DB_POOL_SIZE')).toBe(String(pool));
      expect(2 * (4 * pool + 10 * pool)).toBeLessThan(maxConnections);
    });
  });

  describe('shared task settings', () => {
    it('enables Container Insights and both Fargate capacity providers on the cluster', () => {
      template.hasResourceProperties(
        'AWS::ECS::Cluster',
        Match.objectLike({ ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] }),
      );
      template.hasResourceProperties(
        'AWS::ECS::ClusterCapacityProviderAssociations',
        Match.objectLike({ CapacityProviders: ['FARGATE', 'FARGATE_SPOT'] }),
      );
    });

    it('builds the image from the repo Dockerfile as an asset', () => {
      for (const role of ['app', 'worker'] as const) {
        expect(JSON.stringify(containers[role])).toMatch(
          /container-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}:[0-9a-f]{64}/,
        );
      }
    });

    it('gives both tiers the runtime environment contract', () => {
      const bucket = logicalIdOf('AWS::S3::Bucket', 'FileStoreBucket');
      const database = logicalIdOf('AWS::RDS::DBInstance', 'DatabaseInstance');
      const cache = logicalIdOf('AWS::ElastiCache::ReplicationGroup', 'CacheReplicationGroup');
      const distribution = logicalIdOf('AWS::CloudFront::Distribution', 'AppEdgeDistribution');
      for (const role of ['app', 'worker'] as const) {
        expect(env(role, 'SLUICE_ROLE')).toBe(role);
        expect(env(role, 'PORT')).toBe('3000');
        expect(env(role, 'SLUICE_STORAGE')).toBe('s3');
        expect(env(role, 'SLUICE_S3_BUCKET')).toEqual({ Ref: bucket });
        expect(env(role, 'SLUICE_S3_REGION')).toEqual({ Ref: 'AWS::Region' });
        expect(env(role, 'DATABASE_URL')).toEqual({
          'Fn::Join': [
            '',
            [
              'postgres://sluice_app@',
              { 'Fn::GetAtt': [database, 'Endpoint.Address'] },
              ':',
              { 'Fn::GetAtt': [database, 'Endpoint.Port'] },
              '/sluice?sslmode=verify-full',
            ],
          ],
        });
        expect(env(role, 'SLUICE_DB_AUTH')).toBe('iam');
        expect(env(role, 'SLUICE_DB_CA')).toBe('rds');
        expect(env(role, 'REDIS_URL')).toEqual({
          'Fn::Join': [
            '',
            ['rediss://', { 'Fn::GetAtt': [cache, 'PrimaryEndPoint.Address'] }, ':6379'],
          ],
        });
        expect(env(role, 'SLUICE_WEBHOOK_TIMEOUT_S')).toBe('30');
        expect(env(role, 'SLUICE_FLOW_TIMEOUT_S')).toBe('600');
        expect(env(role, 'SLUICE_PUBLIC_URL')).toEqual({
          'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]],
        });
      }
      expect(env('worker', 'SLUICE_WORKER_CONCURRENCY')).toBe('1');
      expect(env('app', 'SLUICE_DB_ADMIN_URL')).toEqual({
        'Fn::Join': [
          '',
          [
            'postgres://sluice@',
            { 'Fn::GetAtt': [database, 'Endpoint.Address'] },
            ':',
            { 'Fn::GetAtt': [database, 'Endpoint.Port'] },
            '/sluice?sslmode=verify-full',
          ],
        ],
      });
      expect(env('worker', 'SLUICE_DB_ADMIN_URL')).toBeUndefined();
    });

    it('leaves the queue prefix to the runtime, which names it after the deployment', () => {
      for (const role of ['app', 'worker'] as const) {
        expect(env(role, 'SLUICE_QUEUE_PREFIX')).toBeUndefined();
        expect(env(role, 'SLUICE_DEPLOYMENT_NAME')).toBe('Sluice');
      }
    });

    it('passes the master password (APP only), AUTH token and API key only as ECS secrets', () => {
      const dbSecret = logicalIdOf(
        'AWS::SecretsManager::SecretTargetAttachment',
        'DatabaseInstanceSecretAttachment',
      );
      const authToken = logicalIdOf('AWS::SecretsManager::Secret', 'CacheAuthToken');
      const apiKey = logicalIdOf('AWS::SecretsManager::Secret', 'ApiKey');
      const adminPassword = {
        Name: 'SLUICE_DB_ADMIN_PASSWORD',
        ValueFrom: { 'Fn::Join': ['', [{ Ref: dbSecret }, ':password::']] },
      };
      const redisPassword = { Name: 'SLUICE_REDIS_PASSWORD', ValueFrom: { Ref: authToken } };
      expect(containers.app.Secrets).toEqual([
        redisPassword,
        adminPassword,
        { Name: 'SLUICE_API_KEY', ValueFrom: { Ref: apiKey } },
      ]);
      expect(containers.worker.Secrets).toEqual([redisPassword]);
      for (const role of ['app', 'worker'] as const) {
        const plain = JSON.stringify(containers[role].Environment);
        for (const secret of [dbSecret, authToken, apiKey, 'DatabaseInstanceSecret']) {
          expect(plain).not.toContain(secret);
        }
        expect(plain).not.toMatch(/PASSWORD|API_KEY|resolve:secretsmanager/);
      }
    });

    it('lets only the APP execution role read the master secret', () => {
      const dbSecret = logicalIdOf(
        'AWS::SecretsManager::SecretTargetAttachment',
        'DatabaseInstanceSecretAttachment',
      );
      const policyOf = (prefix: string) =>
        JSON.stringify(
          Object.entries(resourcesOf('AWS::IAM::Policy')).find(([id]) => id.startsWith(prefix)),
        );
      expect(policyOf('AppTaskTaskDefinitionExecutionRoleDefaultPolicy')).toContain(dbSecret);
      expect(policyOf('WorkerTaskTaskDefinitionExecutionRoleDefaultPolicy')).not.toContain(
        dbSecret,
      );
      expect(policyOf('WorkerTaskTaskDefinitionExecutionRoleDefaultPolicy')).toContain(
        logicalIdOf('AWS::SecretsManager::Secret', 'CacheAuthToken'),
      );
    });

    it("keeps every log group, Container Insights' too, for a set retention", () => {
      const groups = Object.values(resourcesOf('AWS::Logs::LogGroup'));
      expect(groups).toHaveLength(4);
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: {
          'Fn::Join': [
            '',
            [
              '/aws/ecs/containerinsights/',
              { Ref: Match.stringLikeRegexp('^Cluster') },
              '/performance',
            ],
          ],
        },
        RetentionInDays: 30,
      });
      for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
    });
  });

  describe('network', () => {
    it('admits exactly the listed ingress: the VPC to the ALB on 80, ALB to APP, tasks to RDS and Redis', () => {
      const groups = resourcesOf('AWS::EC2::SecurityGroup');
      const inline = Object.values(groups).flatMap(
        (group) => group.Properties.SecurityGroupIngress ?? [],
      );
      expect(inline).toEqual([
        expect.objectContaining({
          CidrIp: '10.0.0.0/16',
          IpProtocol: 'tcp',
          FromPort: 80,
          ToPort: 80,
        }),
      ]);
      const ports = Object.values(resourcesOf('AWS::EC2::SecurityGroupIngress')).map(
        ({ Properties: rule }) => rule.FromPort,
      );
      expect(ports.sort()).toEqual([3000, 5432, 5432, 6379, 6379]);
    });

    it('logs VPC traffic', () => {
      template.resourceCountIs('AWS::EC2::FlowLog', 1);
    });
  });

  describe('data tier', () => {
    it('runs encrypted PostgreSQL 16, Multi-AZ, protected from deletion, with IAM auth', () => {
      template.hasResourceProperties(
        'AWS::RDS::DBInstance',
        Match.objectLike({
          EngineVersion: '16',
          StorageType: 'gp3',
          StorageEncrypted: true,
          MultiAZ: true,
          DeletionProtection: true,
          EnableIAMDatabaseAuthentication: true,
        }),
      );
    });

    it('runs Redis with noeviction, TLS and failover', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::ParameterGroup',
        Match.objectLike({ Properties: { 'maxmemory-policy': 'noeviction' } }),
      );
      template.hasResourceProperties(
        'AWS::ElastiCache::ReplicationGroup',
        Match.objectLike({
          TransitEncryptionEnabled: true,
          AtRestEncryptionEnabled: true,
          AutomaticFailoverEnabled: true,
          MultiAZEnabled: true,
        }),
      );
    });

    it('denies non-TLS requests to the bucket', () => {
      template.hasResourceProperties(
        'AWS::S3::BucketPolicy',
        Match.objectLike({
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          }),
        }),
      );
    });
  });

  describe('services', () => {
    it('sets the ALB idle timeout from ALB_IDLE_TIMEOUT_S, above the webhook timeout', () => {
      const [alb] = Object.values(resourcesOf('AWS::ElasticLoadBalancingV2::LoadBalancer'));
      const idle = alb?.Properties.LoadBalancerAttributes.find(
        (attribute: { Key: string }) => attribute.Key === 'idle_timeout.timeout_seconds',
      );
      expect(Number(idle.Value)).toBe(ALB_IDLE_TIMEOUT_S);
      expect(Number(idle.Value)).toBeGreaterThan(Number(env('app', 'SLUICE_WEBHOOK_TIMEOUT_S')));
    });

    it('spreads workers over FARGATE (base) and FARGATE_SPOT, with 120 s to stop', () => {
      template.hasResourceProperties(
        'AWS::ECS::Service',
        Match.objectLike({
          CapacityProviderStrategy: [
            { CapacityProvider: 'FARGATE', Base: 1, Weight: 0 },
            { CapacityProvider: 'FARGATE_SPOT', Weight: 1 },
          ],
        }),
      );
      expect(containers.worker.StopTimeout).toBe(120);
    });
  });

  // Only the API seals secrets (GenerateDataKey); workers, which run untrusted code, open them.
  it('creates a rotating KMS key for flow secrets, names it to both tiers, lets the APP task role wrap and unwrap with it, and the worker task role only unwrap, under the secrets encryption context only', () => {
    const keyId = logicalIdOf('AWS::KMS::Key', 'SecretsKey');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const role of ['app', 'worker'] as const) {
      expect(env(role, 'SLUICE_SECRETS_KMS_KEY_ID')).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(env(role, 'SLUICE_RUN_RETENTION_DAYS')).toBe('30');
    }
    const users = Object.values(resourcesOf('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes(`"${keyId}"`),
    );
    expect(users.map((policy) => JSON.stringify(policy.Properties.Roles)).sort()).toEqual(
      [
        expect.stringContaining('AppTaskTaskDefinitionTaskRole'),
        expect.stringContaining('WorkerTaskTaskDefinitionTaskRole'),
      ].sort(),
    );
    const keyActions = (rolePrefix: string) => {
      const policy = users.find((user) =>
        JSON.stringify(user.Properties.Roles).includes(rolePrefix),
      );
      const statements = policy?.Properties.PolicyDocument.Statement as {
        Action: unknown;
        Condition?: unknown;
      }[];
      return statements.filter((st) => JSON.stringify(st).includes(`"${keyId}"`));
    };
    // Every data key is made and opened under the secrets' encryption context
    // (runtime/secrets/kms-data-keys.ts): the key serves the task roles for nothing else.
    const onlyUnderSecretsContext = {
      StringEquals: { 'kms:EncryptionContext:purpose': SECRETS_ENCRYPTION_CONTEXT.purpose },
    };
    expect(keyActions('AppTaskTaskDefinitionTaskRole')).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: onlyUnderSecretsContext,
      }),
    ]);
    expect(keyActions('WorkerTaskTaskDefinitionTaskRole')).toEqual([
      expect.objectContaining({ Action: 'kms:Decrypt', Condition: onlyUnderSecretsContext }),
    ]);
  });

  it('declares the alarms and secrets that npm run size prices', () => {
    const trackingPolicies = Object.values(
      resourcesOf('AWS::ApplicationAutoScaling::ScalingPolicy'),
    ).filter((policy) => policy.Properties.PolicyType === 'TargetTrackingScaling');
    // Target tracking creates two alarms per policy itself, outside the template.
    expect(Object.keys(resourcesOf('AWS::CloudWatch::Alarm'))).toHaveLength(
      STACK_ALARMS + STACK_HIGH_RES_ALARMS - 2 * trackingPolicies.length,
    );
    expect(Object.keys(resourcesOf('AWS::SecretsManager::Secret'))).toHaveLength(STACK_SECRETS);
  });

  it('outputs the URLs, the bucket, the dashboard and the secret ARNs', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'PublicUrl',
        'DistributionDomainName',
        'BucketName',
        'DashboardUrl',
        'AlarmTopicArn',
        'ApiKeySecretArn',
        'DatabaseSecretArn',
        'CacheAuthTokenSecretArn',
      ]),
    );
  });
});

describe('SluiceStack with cpuArchitecture arm64', () => {
  it('runs the APP on ARM64 from its own image build, and workers on X86_64 for Spot', () => {
    // GIVEN cpuArchitecture arm64 WHEN the stack is synthesized
    const template = Template.fromStack(newStack({ cpuArchitecture: 'arm64' }));
    const definitions = Object.entries(template.findResources('AWS::ECS::TaskDefinition'));
    const tier = (prefix: string) => definitions.find(([id]) => id.startsWith(prefix))?.[1];
    const app = tier('AppTask')?.Properties;
    const worker = tier('WorkerTask')?.Properties;
    // THEN each tier runs its own architecture, from a different image asset
    expect(app.RuntimePlatform.CpuArchitecture).toBe('ARM64');
    expect(worker.RuntimePlatform.CpuArchitecture).toBe('X86_64');
    expect(JSON.stringify(app.ContainerDefinitions[0].Image)).not.toBe(
      JSON.stringify(worker.ContainerDefinitions[0].Image),
    );
  });
});

describe('SluiceStack props', () => {
  it('keeps an existing deployment on its old queue prefix when queuePrefix is given', () => {
    // GIVEN a stack deployed when every deployment used {sluice}
    const template = Template.fromStack(newStack({ queuePrefix: '{sluice}' }));
    // THEN both tiers get it, so the upgrade strands no job
    const definitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(definitions).toHaveLength(2);
    for (const definition of definitions) {
      expect(definition.Properties.ContainerDefinitions[0].Environment).toContainEqual({
        Name: 'SLUICE_QUEUE_PREFIX',
        Value: '{sluice}',
      });
    }
  });

  it.each([10, 50])(
    'alarms on a job waiting longer than the sync webhook timeout it was given (%i s)',
    (webhookTimeoutSeconds) => {
      // GIVEN a webhook timeout other than the default 30 s
      const template = Template.fromStack(newStack({ webhookTimeoutSeconds }));
      // THEN the oldest-waiting alarm pages when a sync caller is given up on, not at 30 s
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
        (alarm) => JSON.stringify(alarm.Properties.Metrics ?? []).includes('OldestWaitingAge'),
      );
      expect(alarms.map((alarm) => alarm.Properties.Threshold)).toEqual([webhookTimeoutSeconds]);
    },
  );

  it.each<[string, SluiceStackProps, string]>([
    [
      'workerCpu 300',
      { workerCpu: 300 },
      'workerCpu must be one of 256, 512, 1024, 2048, 4096 (got 300)',
    ],
    [
      'workerMemoryMiB 4096 on 256 CPU',
      { workerMemoryMiB: 4096 },
      'workerMemoryMiB must be one of 512, 1024, 2048 for workerCpu 256 (got 4096)',
    ],
    ['appCpu 100', { appCpu: 100 }, 'appCpu must be one of 256, 512, 1024, 2048, 4096 (got 100)'],
    [
      'a certificate without a domain',
      { certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' },
      'domainName and certificateArn go together (got domainName none and certificateArn arn:aws:acm:us-east-1:123456789012:certificate/abc)',
    ],
    [
      'a webhook timeout CloudFront would cut off',
      { webhookTimeoutSeconds: 45, originResponseTimeoutSeconds: 45 },
      'webhookTimeoutSeconds must be less than originResponseTimeoutSeconds 45 (got 45)',
    ],
    [
      'a webhook timeout the ALB would cut off',
      { webhookTimeoutSeconds: 90, originResponseTimeoutSeconds: 120 },
      'webhookTimeoutSeconds must be less than the ALB idle timeout 60 (got 90)',
    ],
    [
      'cpuArchitecture mips',
      { cpuArchitecture: 'mips' as 'arm64' },
      'cpuArchitecture must be x86_64 or arm64 (got mips)',
    ],
    [
      'peakConcurrentFlows 0',
      { peakConcurrentFlows: 0 },
      'peakConcurrentFlows must be a positive integer (got 0)',
    ],
    [
      'an on-demand base above the peak',
      { peakConcurrentFlows: 2, onDemandWorkerBase: 3 },
      'onDemandWorkerBase must be at most peakConcurrentFlows 2 (got 3)',
    ],
    [
      'removalPolicy snapshot',
      { removalPolicy: 'snapshot' as 'retain' },
      'removalPolicy must be retain or destroy (got snapshot)',
    ],
    [
      'logRetentionDays 31',
      { logRetentionDays: 31 },
      'logRetentionDays must be a CloudWatch Logs retention such as 7, 14, 30, 90, 365 (got 31)',
    ],
    [
      'run logs expiring before their runs are pruned',
      { runLogRetentionDays: 7, runRetentionDays: 30 },
      'runLogRetentionDays must not be shorter than runRetentionDays, or run logs expire while their runs are still listed (got 7 < 30)',
    ],
    ['runRetentionDays 0', { runRetentionDays: 0 }, 'runRetentionDays must be'],
    [
      'a queue prefix that is not a hashtag',
      { queuePrefix: 'sluice' },
      'queuePrefix must be a Redis hashtag such as {sluice} (got sluice)',
    ],
  ])('fails synth on %s, naming the prop and the value', (_, props, message) => {
    expect(() => newStack(props)).toThrow(message);
  });
});
