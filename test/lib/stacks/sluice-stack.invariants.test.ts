import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SluiceStack, type SluiceStackProps } from '../../../lib/stacks/sluice-stack';
import { newCdkApp } from '../fixtures';

/**
 * Promises that must hold for every shape the stack can take, checked on the synthesized
 * template rather than on the constructs that should produce them.
 */
const SHAPES: readonly [string, SluiceStackProps][] = [
  ['the defaults', {}],
  ['an idle fleet (minWorkers 0) at peak 50', { peakConcurrentFlows: 50, minWorkers: 0 }],
  [
    'a domain without an origin certificate',
    {
      domainName: 'sluice.example.com',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    },
  ],
  [
    'single-AZ, disposable, on a domain with HTTPS to the ALB, ARM64 APP',
    {
      originCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/origin',
      multiAz: false,
      removalPolicy: 'destroy',
      domainName: 'sluice.example.com',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      cpuArchitecture: 'arm64',
      webhookTimeoutSeconds: 50,
    },
  ],
  ['the serverless profile', { profile: 'serverless' }],
  [
    'the serverless profile, scaled to zero workers, warm, disposable, one NAT gateway',
    {
      profile: 'serverless',
      peakConcurrentFlows: 50,
      minWorkers: 0,
      databaseMinAcu: 0.5,
      removalPolicy: 'destroy',
      natGateways: 1,
    },
  ],
];

type Resource = { Type: string; Properties?: Record<string, unknown> } & Record<string, unknown>;

const synth = (props: SluiceStackProps) =>
  Template.fromStack(new SluiceStack(newCdkApp(), 'Sluice', props));
const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];
const containersOf = (template: Template) =>
  resourcesOf(template, 'AWS::ECS::TaskDefinition').flatMap(
    ([, definition]) =>
      definition.Properties?.ContainerDefinitions as {
        Environment: { Name: string; Value: unknown }[];
      }[],
  );
interface DistributionConfig {
  DefaultCacheBehavior: { ViewerProtocolPolicy: string };
  CacheBehaviors?: unknown[];
  Origins: { VpcOriginConfig: { OriginReadTimeout: number } }[];
}
const distributionConfigOf = (template: Template): DistributionConfig => {
  const distributions = resourcesOf(template, 'AWS::CloudFront::Distribution');
  expect(distributions).toHaveLength(1);
  return distributions[0]?.[1].Properties?.DistributionConfig as DistributionConfig;
};
const envOf = (container: { Environment: { Name: string; Value: unknown }[] }, name: string) =>
  container.Environment.find((variable) => variable.Name === name)?.Value;

describe.each(SHAPES)('SluiceStack with %s', (_, props) => {
  const template = synth(props);

  it('leaves DesiredCount out of every autoscaled service, so deploys never resize the fleet', () => {
    const targets = resourcesOf(template, 'AWS::ApplicationAutoScaling::ScalableTarget');
    const services = resourcesOf(template, 'AWS::ECS::Service');
    expect(targets).toHaveLength(services.length);
    for (const [logicalId, service] of services) {
      const scaled = targets.some(([, target]) =>
        JSON.stringify(target.Properties?.ResourceId).includes(`"${logicalId}"`),
      );
      expect(scaled, `${logicalId} has a scalable target`).toBe(true);
      expect(service.Properties, logicalId).not.toHaveProperty('DesiredCount');
    }
  });

  it('has no internet-facing load balancer and no listener that serves plain HTTP to the internet', () => {
    for (const [, alb] of resourcesOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      expect(alb.Properties?.Scheme).toBe('internal');
    }
    // A plain-HTTP listener exists only without an origin certificate, and then forwards only
    // inside the VPC: its security group admits nothing from outside the VPC's own range.
    const plain = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::Listener').filter(
      ([, listener]) => listener.Properties?.Protocol !== 'HTTPS',
    );
    expect(plain).toHaveLength(props.originCertificateArn === undefined ? 1 : 0);
    const ingress = resourcesOf(template, 'AWS::EC2::SecurityGroup').flatMap(
      ([, group]) => (group.Properties?.SecurityGroupIngress as { CidrIp?: string }[]) ?? [],
    );
    for (const rule of ingress) expect(rule.CidrIp).toBe('10.0.0.0/16');
    // Viewers reach the API only through CloudFront, which redirects HTTP to HTTPS.
    const config = distributionConfigOf(template);
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.CacheBehaviors).toBeUndefined();
  });

  it('keeps CloudFront waiting longer than a sync webhook may take', () => {
    const origins = distributionConfigOf(template).Origins;
    const containers = containersOf(template);
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) {
      for (const container of containers) {
        expect(origin.VpcOriginConfig.OriginReadTimeout).toBeGreaterThan(
          Number(envOf(container, 'SLUICE_WEBHOOK_TIMEOUT_S')),
        );
      }
    }
  });

  it('verifies the database server certificate from every task, and RDS refuses plain TCP', () => {
    for (const container of containersOf(template)) {
      for (const name of ['DATABASE_URL', 'SLUICE_DB_ADMIN_URL']) {
        const url = envOf(container, name);
        if (url === undefined && name === 'SLUICE_DB_ADMIN_URL') continue;
        expect(JSON.stringify(url), name).toMatch(/sslmode=verify-full"\]\]\}$/);
      }
      expect(envOf(container, 'SLUICE_DB_CA')).toBe('rds');
    }
    // RDS instances take a DB parameter group, Aurora clusters a cluster parameter group.
    const groups = [
      ...resourcesOf(template, 'AWS::RDS::DBParameterGroup'),
      ...resourcesOf(template, 'AWS::RDS::DBClusterParameterGroup'),
    ];
    expect(groups).toHaveLength(1);
    for (const [, parameters] of groups) {
      expect(parameters.Properties?.Parameters).toMatchObject({ 'rds.force_ssl': '1' });
    }
  });

  it('encrypts Valkey in transit and at rest, where there is one', () => {
    const groups = resourcesOf(template, 'AWS::ElastiCache::ReplicationGroup');
    expect(groups).toHaveLength(props.profile === 'serverless' ? 0 : 1);
    for (const [, group] of groups) {
      expect(group.Properties).toMatchObject({
        TransitEncryptionEnabled: true,
        AtRestEncryptionEnabled: true,
      });
    }
  });
});

describe('SluiceStack deletion policies', () => {
  // The stateful resources, by type and logical-id prefix, and what each setting does to them.
  const MATRIX: readonly [string, string, string, string][] = [
    // type, logical id prefix, retain, destroy
    ['AWS::RDS::DBInstance', 'DatabaseInstance', 'Snapshot', 'Delete'],
    ['AWS::SecretsManager::Secret', 'SluiceDatabaseInstanceSecret', 'Retain', 'Delete'],
    ['AWS::ElastiCache::ReplicationGroup', 'CacheReplicationGroup', 'Snapshot', 'Delete'],
    ['AWS::SecretsManager::Secret', 'CacheAuthToken', 'Retain', 'Delete'],
    ['AWS::SecretsManager::Secret', 'ApiKey', 'Retain', 'Delete'],
    ['AWS::KMS::Key', 'SecretsKey', 'Retain', 'Delete'],
    ['AWS::S3::Bucket', 'FileStoreBucket', 'Retain', 'Delete'],
    ['AWS::Logs::LogGroup', 'NetworkFlowLogGroup', 'Retain', 'Delete'],
    ['AWS::Logs::LogGroup', 'AppTaskLogs', 'Retain', 'Delete'],
    ['AWS::Logs::LogGroup', 'WorkerTaskLogs', 'Retain', 'Delete'],
    ['AWS::Logs::LogGroup', 'ContainerInsightsLogs', 'Retain', 'Delete'],
  ];
  const templates = {
    retain: synth({ removalPolicy: 'retain' }),
    destroy: synth({ removalPolicy: 'destroy', multiAz: false }),
  };

  describe.each(['retain', 'destroy'] as const)('with removalPolicy %s', (setting) => {
    const template = templates[setting];

    it.each(MATRIX)('%s %s', (type, prefix, retain, destroy) => {
      const expected = setting === 'retain' ? retain : destroy;
      const matches = resourcesOf(template, type).filter(([id]) => id.startsWith(prefix));
      expect(matches).toHaveLength(1);
      const [[, resource] = ['', {} as Resource]] = matches;
      expect(resource.DeletionPolicy).toBe(expected);
      expect(resource.UpdateReplacePolicy).toBe(expected);
    });

    it('names every resource that survives or snapshots in the matrix', () => {
      const kept = Object.entries(template.toJSON().Resources as Record<string, Resource>)
        .filter(([, resource]) => resource.DeletionPolicy !== undefined)
        .filter(([, resource]) => resource.DeletionPolicy !== 'Delete')
        .map(([id, resource]) => `${resource.Type} ${id}`);
      for (const entry of kept) {
        expect(
          MATRIX.some(([type, prefix]) => entry.startsWith(`${type} ${prefix}`)),
          entry,
        ).toBe(true);
      }
    });
  });

  it('lets destroy delete the database: no deletion protection, no kept backups', () => {
    const [[, instance] = ['', {} as Resource]] = resourcesOf(
      templates.destroy,
      'AWS::RDS::DBInstance',
    );
    expect(instance.Properties).toMatchObject({
      DeletionProtection: false,
      DeleteAutomatedBackups: true,
    });
    templates.destroy.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  it('deletes the Spot service before the capacity providers and security groups it uses', () => {
    const template = templates.destroy;
    const [association] = resourcesOf(template, 'AWS::ECS::ClusterCapacityProviderAssociations');
    const onCapacityProviders = resourcesOf(template, 'AWS::ECS::Service').filter(
      ([, service]) => service.Properties?.CapacityProviderStrategy !== undefined,
    );
    expect(onCapacityProviders).toHaveLength(1);
    for (const [logicalId, service] of onCapacityProviders) {
      // CloudFormation deletes in reverse dependency order: a service that depends on the
      // association and references its security groups and subnets goes first, and its tasks'
      // network interfaces are gone once ECS reports the service deleted.
      expect(service.DependsOn as string[], logicalId).toContain(association?.[0]);
      const groups = JSON.stringify(
        (service.Properties?.NetworkConfiguration as Record<string, unknown>) ?? {},
      );
      expect(groups, logicalId).toMatch(/SecurityGroup.*GroupId/);
    }
  });
});
