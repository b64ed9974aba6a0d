import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppService, type AppServiceProps } from '../../../lib/constructs/app-service';
import { ALB_IDLE_TIMEOUT_S, DEFAULT_WEBHOOK_TIMEOUT_S } from '../../../runtime/limits';
import { dataTier, newTestStack } from '../fixtures';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';

function appStack(props: Partial<AppServiceProps> = {}): Stack {
  const stack = newTestStack();
  const { network, cluster, task } = dataTier(stack);
  new AppService(stack, 'App', {
    cluster,
    albSecurityGroup: network.albSecurityGroup,
    securityGroup: network.appSecurityGroup,
    task,
    apiKeySecret: new secretsmanager.Secret(stack, 'ApiKey'),
    maxTasks: 4,
    ...props,
  });
  return stack;
}

const appEnvironment = (template: Template) =>
  Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]?.Properties
    .ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];

describe('AppService', () => {
  describe('without a domain', () => {
    let template: Template;

    beforeAll(() => {
      // GIVEN the data tier WHEN an AppService is added with defaults
      template = Template.fromStack(appStack());
    });

    it('runs SLUICE_ROLE=app tasks with SLUICE_PUBLIC_URL at the CloudFront distribution', () => {
      expect(appEnvironment(template)).toEqual(
        expect.arrayContaining([
          { Name: 'SLUICE_ROLE', Value: 'app' },
          // CloudFront and the ALB each append to X-Forwarded-For (rate limits per client).
          { Name: 'SLUICE_TRUSTED_PROXY_HOPS', Value: '2' },
          {
            Name: 'SLUICE_PUBLIC_URL',
            Value: {
              'Fn::Join': [
                '',
                [
                  'https://',
                  {
                    'Fn::GetAtt': [expect.stringMatching(/^AppEdgeDistribution/), 'DomainName'],
                  },
                ],
              ],
            },
          },
        ]),
      );
    });

    it('carries no DesiredCount, and autoscales from 2 to maxTasks on requests per target', () => {
      const [service] = Object.values(template.findResources('AWS::ECS::Service'));
      expect(service?.Properties).not.toHaveProperty('DesiredCount');
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 2,
        MaxCapacity: 4,
        ScalableDimension: 'ecs:service:DesiredCount',
      });
      template.hasResourceProperties(
        'AWS::ApplicationAutoScaling::ScalingPolicy',
        Match.objectLike({
          TargetTrackingScalingPolicyConfiguration: Match.objectLike({
            PredefinedMetricSpecification: Match.objectLike({
              PredefinedMetricType: 'ALBRequestCountPerTarget',
            }),
            TargetValue: 3000,
          }),
        }),
      );
    });

    it('rolls out with minHealthyPercent 100 and a circuit breaker that rolls back', () => {
      template.hasResourceProperties(
        'AWS::ECS::Service',
        Match.objectLike({
          LaunchType: 'FARGATE',
          DeploymentConfiguration: Match.objectLike({
            MinimumHealthyPercent: 100,
            DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          }),
          LoadBalancers: [Match.objectLike({ ContainerName: 'sluice', ContainerPort: 3000 })],
        }),
      );
    });

    it('health-checks /v1/health and deregisters in under 120 s', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::TargetGroup',
        Match.objectLike({
          HealthCheckPath: '/v1/health',
          Port: 3000,
          TargetType: 'ip',
          TargetGroupAttributes: Match.arrayWith([
            { Key: 'deregistration_delay.timeout_seconds', Value: '40' },
          ]),
        }),
      );
    });

    // ECS sends SIGTERM without draining first when a task is stopped directly (StopTask), and
    // the APP then finishes its in-flight requests, a sync webhook waiting up to its timeout.
    it('gives a sync webhook in flight at SIGTERM its whole wait: 40 s to stop, as to deregister', () => {
      template.hasResourceProperties(
        'AWS::ECS::TaskDefinition',
        Match.objectLike({
          ContainerDefinitions: [
            Match.objectLike({
              StopTimeout: DEFAULT_WEBHOOK_TIMEOUT_S + 10,
              Environment: Match.arrayWith([
                { Name: 'SLUICE_WEBHOOK_TIMEOUT_S', Value: String(DEFAULT_WEBHOOK_TIMEOUT_S) },
              ]),
            }),
          ],
        }),
      );
    });

    it('runs an internal ALB whose idle timeout is the shared ALB_IDLE_TIMEOUT_S', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Match.objectLike({
          Scheme: 'internal',
          LoadBalancerAttributes: Match.arrayWith([
            { Key: 'idle_timeout.timeout_seconds', Value: String(ALB_IDLE_TIMEOUT_S) },
          ]),
        }),
      );
    });

    it('has the ALB append to X-Forwarded-For, as SLUICE_TRUSTED_PROXY_HOPS=2 counts on', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Match.objectLike({
          LoadBalancerAttributes: Match.arrayWith([
            { Key: 'routing.http.xff_header_processing.mode', Value: 'append' },
          ]),
        }),
      );
    });

    it('puts CloudFront in front: no caching, every method, all viewer headers, HTTPS only', () => {
      template.hasResourceProperties(
        'AWS::CloudFront::Distribution',
        Match.objectLike({
          DistributionConfig: Match.objectLike({
            DefaultCacheBehavior: Match.objectLike({
              ViewerProtocolPolicy: 'redirect-to-https',
              AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
              // The managed CachingDisabled and AllViewer policies.
              CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
              OriginRequestPolicyId: '216adef6-5c7f-47e4-b989-5492eafa07d3',
            }),
            Origins: [
              Match.objectLike({
                VpcOriginConfig: Match.objectLike({ OriginReadTimeout: 60 }),
              }),
            ],
          }),
        }),
      );
      template.hasResourceProperties('AWS::CloudFront::VpcOrigin', {
        VpcOriginEndpointConfig: Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^AppLoadBalancer') },
          HTTPPort: 80,
          OriginProtocolPolicy: 'http-only',
        }),
      });
    });

    it('has one listener, forwarding HTTP on 80 to the APP for CloudFront', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::Listener',
        Match.objectLike({
          Port: 80,
          Protocol: 'HTTP',
          DefaultActions: [Match.objectLike({ Type: 'forward' })],
        }),
      );
    });

    it('gives the APP the master user to migrate with, the password only as a secret', () => {
      const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
      const container = definition?.Properties.ContainerDefinitions[0];
      expect(container.Environment).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Name: 'SLUICE_DB_ADMIN_URL' }),
          { Name: 'SLUICE_DB_AUTH', Value: 'iam' },
          { Name: 'SLUICE_DB_CA', Value: 'rds' },
        ]),
      );
      expect(container.Secrets).toEqual(
        expect.arrayContaining([expect.objectContaining({ Name: 'SLUICE_DB_ADMIN_PASSWORD' })]),
      );
    });
  });

  describe('with a domain and a us-east-1 certificate', () => {
    let template: Template;

    beforeAll(() => {
      template = Template.fromStack(
        appStack({ domainName: 'sluice.example.com', certificateArn: CERTIFICATE_ARN }),
      );
    });

    it('serves the domain from CloudFront with the certificate and TLS 1.2 at least', () => {
      template.hasResourceProperties(
        'AWS::CloudFront::Distribution',
        Match.objectLike({
          DistributionConfig: Match.objectLike({
            Aliases: ['sluice.example.com'],
            ViewerCertificate: {
              AcmCertificateArn: CERTIFICATE_ARN,
              MinimumProtocolVersion: 'TLSv1.2_2021',
              SslSupportMethod: 'sni-only',
            },
          }),
        }),
      );
    });

    it('keeps the ALB internal with one plain listener, reached only by CloudFront', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Match.objectLike({ Scheme: 'internal' }),
      );
    });

    it('sets SLUICE_PUBLIC_URL to https://domainName', () => {
      expect(appEnvironment(template)).toEqual(
        expect.arrayContaining([
          { Name: 'SLUICE_PUBLIC_URL', Value: 'https://sluice.example.com' },
        ]),
      );
    });
  });

  describe('with an origin certificate for the domain', () => {
    let template: Template;
    const ORIGIN_CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/origin';

    beforeAll(() => {
      template = Template.fromStack(
        appStack({
          domainName: 'sluice.example.com',
          certificateArn: CERTIFICATE_ARN,
          originCertificateArn: ORIGIN_CERTIFICATE_ARN,
        }),
      );
    });

    it('serves HTTPS on the ALB and no plain-HTTP listener at all', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::Listener',
        Match.objectLike({
          Port: 443,
          Protocol: 'HTTPS',
          Certificates: [{ CertificateArn: ORIGIN_CERTIFICATE_ARN }],
          DefaultActions: [Match.objectLike({ Type: 'forward' })],
        }),
      );
    });

    it('has CloudFront reach the ALB over HTTPS, checking its certificate against the domain', () => {
      template.hasResourceProperties('AWS::CloudFront::VpcOrigin', {
        VpcOriginEndpointConfig: Match.objectLike({
          HTTPSPort: 443,
          OriginProtocolPolicy: 'https-only',
          OriginSSLProtocols: ['TLSv1.2'],
        }),
      });
      template.hasResourceProperties(
        'AWS::CloudFront::Distribution',
        Match.objectLike({
          DistributionConfig: Match.objectLike({
            Origins: [Match.objectLike({ DomainName: 'sluice.example.com' })],
          }),
        }),
      );
    });
  });

  it.each<[Partial<AppServiceProps>, string]>([
    [
      { certificateArn: CERTIFICATE_ARN },
      `domainName and certificateArn go together (got domainName none and certificateArn ${CERTIFICATE_ARN})`,
    ],
    [
      { domainName: 'sluice.example.com' },
      'domainName and certificateArn go together (got domainName sluice.example.com and certificateArn none)',
    ],
    [
      {
        domainName: 'sluice.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      },
      'certificateArn must be an ACM certificate in us-east-1, the only region CloudFront reads certificates from (got arn:aws:acm:eu-west-1:123456789012:certificate/abc)',
    ],
    [
      { originResponseTimeoutSeconds: 30 },
      'webhookTimeoutSeconds must be less than originResponseTimeoutSeconds 30 (got 30)',
    ],
    [
      { originResponseTimeoutSeconds: 181 },
      'originResponseTimeoutSeconds must be an integer from 1 to 180 (got 181)',
    ],
    [{ maxTasks: 1 }, 'maxTasks must be an integer of at least minTasks 2 (got 1)'],
    [
      { originCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/origin' },
      'originCertificateArn needs a domainName that it covers (got originCertificateArn arn:aws:acm:eu-west-1:123456789012:certificate/origin and no domainName)',
    ],
    [
      { deregistrationDelaySeconds: 120 },
      'deregistrationDelaySeconds must be from 0 to 119 (got 120)',
    ],
  ])('rejects %j', (props, message) => {
    expect(() => appStack(props)).toThrow(message);
  });

  it('rejects a webhook timeout the ALB idle timeout would cut off', () => {
    const stack = newTestStack();
    const { network, cluster, task } = dataTier(stack);
    expect(
      () =>
        new AppService(stack, 'App', {
          cluster,
          albSecurityGroup: network.albSecurityGroup,
          securityGroup: network.appSecurityGroup,
          task: { ...task, webhookTimeoutSeconds: ALB_IDLE_TIMEOUT_S },
          apiKeySecret: new secretsmanager.Secret(stack, 'ApiKey'),
          maxTasks: 4,
        }),
    ).toThrow(
      `webhookTimeoutSeconds must be less than the ALB idle timeout ${ALB_IDLE_TIMEOUT_S} (got ${ALB_IDLE_TIMEOUT_S})`,
    );
  });
});
