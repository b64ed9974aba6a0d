import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorkerService, type WorkerServiceProps } from '../../../lib/constructs/worker-service';
import { dataTier, newTestStack } from '../fixtures';

function workerStack(props: Partial<WorkerServiceProps> = {}): Stack {
  const stack = newTestStack();
  const { network, cluster, task } = dataTier(stack);
  new WorkerService(stack, 'Worker', {
    cluster,
    securityGroup: network.workerSecurityGroup,
    task,
    publicUrl: 'https://sluice.example.com',
    peakTasks: 10,
    onDemandBase: 2,
    ...props,
  });
  return stack;
}

describe('WorkerService', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN the data tier WHEN a WorkerService of 10 tasks, 2 on-demand, is added
    template = Template.fromStack(workerStack());
  });

  it('carries no DesiredCount, so a deployment never resets what autoscaling chose', () => {
    const [service] = Object.values(template.findResources('AWS::ECS::Service'));
    expect(service?.Properties).not.toHaveProperty('DesiredCount');
  });

  it('puts the on-demand base on FARGATE and everything else on FARGATE_SPOT', () => {
    template.hasResourceProperties(
      'AWS::ECS::Service',
      Match.objectLike({
        CapacityProviderStrategy: [
          { CapacityProvider: 'FARGATE', Base: 2, Weight: 0 },
          { CapacityProvider: 'FARGATE_SPOT', Weight: 1 },
        ],
        LaunchType: Match.absent(),
        LoadBalancers: [],
      }),
    );
  });

  it('replaces tasks with minHealthyPercent 0 and a circuit breaker that rolls back', () => {
    template.hasResourceProperties(
      'AWS::ECS::Service',
      Match.objectLike({
        DeploymentConfiguration: Match.objectLike({
          MinimumHealthyPercent: 0,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        }),
      }),
    );
  });

  it('runs one flow per x86_64 task and gives it 120 s to drain', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        Cpu: '256',
        Memory: '512',
        RuntimePlatform: Match.objectLike({ CpuArchitecture: 'X86_64' }),
        ContainerDefinitions: [
          Match.objectLike({
            StopTimeout: 120,
            PortMappings: Match.absent(),
            Environment: Match.arrayWith([
              { Name: 'SLUICE_ROLE', Value: 'worker' },
              { Name: 'SLUICE_WORKER_CONCURRENCY', Value: '1' },
            ]),
            Secrets: [Match.objectLike({ Name: 'SLUICE_REDIS_PASSWORD' })],
          }),
        ],
      }),
    );
  });

  it('health-checks the container with the worker probe, after a start period for migrations', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            HealthCheck: {
              Command: ['CMD', 'node', 'health-probe.mjs'],
              Interval: 30,
              Timeout: 5,
              Retries: 3,
              StartPeriod: 240,
            },
          }),
        ],
      }),
    );
  });

  it('gets neither the master user nor its password', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const container = JSON.stringify(definition?.Properties.ContainerDefinitions);
    expect(container).not.toContain('SLUICE_DB_ADMIN');
    expect(container).not.toContain('SLUICE_DB_PASSWORD');
  });

  // Workers run untrusted code steps for every project: their role must not read or delete
  // another project's uploaded files; all they store is run logs.
  it("may only write run logs to the bucket, never read, delete or list a project's files", () => {
    const s3Statements = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('WorkerTaskTaskDefinitionTaskRole'))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as { Action: unknown }[])
      .filter((statement) => JSON.stringify(statement.Action).includes('s3:'));
    expect(s3Statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectTagging'],
        Resource: {
          'Fn::Join': [
            '',
            [
              { 'Fn::GetAtt': [expect.stringMatching(/^FileStoreBucket/), 'Arn'] },
              '/project/*/RUN_LOG/*',
            ],
          ],
        },
      },
    ]);
  });

  it('is created only after the cluster has its capacity providers', () => {
    const [association] = Object.keys(
      template.findResources('AWS::ECS::ClusterCapacityProviderAssociations'),
    );
    template.hasResource(
      'AWS::ECS::Service',
      Match.objectLike({ DependsOn: Match.arrayWith([association]) }),
    );
  });

  it('rejects an on-demand base above the peak', () => {
    expect(() => workerStack({ onDemandBase: 11 })).toThrow(
      'onDemandBase must be an integer from 0 to peakTasks 10 (got 11)',
    );
  });
});
