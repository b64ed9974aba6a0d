import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppService, type AppServiceProps } from '../../../lib/constructs/app-service';
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
    desiredCount: 2,
    ...props,
  });
  return stack;
}

describe('AppService', () => {
  describe('over HTTP (no domain)', () => {
    let template: Template;

    beforeAll(() => {
      // GIVEN the data tier WHEN an AppService is added with defaults
      template = Template.fromStack(appStack());
    });

    it('runs SLUICE_ROLE=app tasks with SLUICE_PUBLIC_URL at the ALB', () => {
      template.hasResourceProperties(
        'AWS::ECS::TaskDefinition',
        Match.objectLike({
          ContainerDefinitions: [
            Match.objectLike({
              Environment: Match.arrayWith([
                { Name: 'SLUICE_ROLE', Value: 'app' },
                {
                  Name: 'SLUICE_PUBLIC_URL',
                  Value: {
                    'Fn::Join': [
                      '',
                      [
                        'http://',
                        { 'Fn::GetAtt': [Match.stringLikeRegexp('^AppLoadBalancer'), 'DNSName'] },
                      ],
                    ],
                  },
                },
              ]),
            }),
          ],
        }),
      );
    });

    it('rolls out with minHealthyPercent 100 and a circuit breaker that rolls back', () => {
      template.hasResourceProperties(
        'AWS::ECS::Service',
        Match.objectLike({
          DesiredCount: 2,
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

    it('keeps the ALB idle timeout above the 30 s webhook timeout', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Match.objectLike({
          Scheme: 'internet-facing',
          LoadBalancerAttributes: Match.arrayWith([
            { Key: 'idle_timeout.timeout_seconds', Value: '60' },
          ]),
        }),
      );
    });

    it('forwards HTTP on 80 to the APP', () => {
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
  });

  describe('with a domain and certificate', () => {
    let template: Template;

    beforeAll(() => {
      template = Template.fromStack(
        appStack({ domainName: 'sluice.example.com', certificateArn: CERTIFICATE_ARN }),
      );
    });

    it('serves HTTPS on 443 with the certificate', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::Listener',
        Match.objectLike({
          Port: 443,
          Protocol: 'HTTPS',
          Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
          DefaultActions: [Match.objectLike({ Type: 'forward' })],
        }),
      );
    });

    it('redirects HTTP to HTTPS', () => {
      template.hasResourceProperties(
        'AWS::ElasticLoadBalancingV2::Listener',
        Match.objectLike({
          Port: 80,
          DefaultActions: [
            Match.objectLike({
              Type: 'redirect',
              RedirectConfig: Match.objectLike({
                Protocol: 'HTTPS',
                Port: '443',
                StatusCode: 'HTTP_301',
              }),
            }),
          ],
        }),
      );
    });

    it('sets SLUICE_PUBLIC_URL to https://domainName', () => {
      template.hasResourceProperties(
        'AWS::ECS::TaskDefinition',
        Match.objectLike({
          ContainerDefinitions: [
            Match.objectLike({
              Environment: Match.arrayWith([
                { Name: 'SLUICE_PUBLIC_URL', Value: 'https://sluice.example.com' },
              ]),
            }),
          ],
        }),
      );
    });
  });

  it.each([
    [
      { certificateArn: CERTIFICATE_ARN },
      `certificateArn needs a domainName to serve (got certificateArn ${CERTIFICATE_ARN} and no domainName)`,
    ],
    [
      { domainName: 'sluice.example.com' },
      'domainName needs a certificateArn for HTTPS (got domainName sluice.example.com and no certificateArn)',
    ],
    [
      { albIdleTimeoutSeconds: 30 },
      'webhookTimeoutSeconds must be less than albIdleTimeoutSeconds 30 (got 30)',
    ],
    [
      { deregistrationDelaySeconds: 120 },
      'deregistrationDelaySeconds must be from 0 to 119 (got 120)',
    ],
  ])('rejects %j', (props, message) => {
    expect(() => appStack(props)).toThrow(message);
  });
});
