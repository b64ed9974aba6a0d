import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SluiceTaskDefinition } from '../../../lib/constructs/sluice-task-definition';
import { dataTier, newTestStack } from '../fixtures';

const SECRET_NAMES = [
  'SLUICE_DB_PASSWORD',
  'SLUICE_DB_ADMIN_PASSWORD',
  'SLUICE_REDIS_PASSWORD',
  'SLUICE_API_KEY',
];

describe('SluiceTaskDefinition', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN the data tier and an API key secret
    const stack = newTestStack();
    const { task } = dataTier(stack);
    const apiKeySecret = new secretsmanager.Secret(stack, 'ApiKey');
    // WHEN an app task definition is built
    new SluiceTaskDefinition(stack, 'Task', {
      ...task,
      role: 'app',
      cpu: 512,
      memoryLimitMiB: 1024,
      publicUrl: 'https://sluice.example.com',
      apiKeySecret,
      containerPort: 3000,
      webhookTimeoutSeconds: 45,
      databaseAdmin: true,
    });
    template = Template.fromStack(stack);
  });

  it('runs on Fargate x86_64 with the given size', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        Cpu: '512',
        Memory: '1024',
        RequiresCompatibilities: ['FARGATE'],
        RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      }),
    );
  });

  // Nothing on AWS writes to disk (PostgreSQL, S3 and KMS hold all state; the image turns the
  // compile cache off), so code that escapes a code step cannot rewrite the bundle either.
  it('mounts the root filesystem read-only', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [Match.objectLike({ ReadonlyRootFilesystem: true })],
      }),
    );
  });

  it('sets the environment contract of runtime/env.ts', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            Name: 'sluice',
            Image: 'sluice:test',
            PortMappings: [{ ContainerPort: 3000, Protocol: 'tcp' }],
            Environment: Match.arrayWith([
              { Name: 'PORT', Value: '3000' },
              { Name: 'SLUICE_ROLE', Value: 'app' },
              { Name: 'SLUICE_STORAGE', Value: 's3' },
              {
                Name: 'SLUICE_S3_BUCKET',
                Value: { Ref: Match.stringLikeRegexp('^FileStoreBucket') },
              },
              { Name: 'SLUICE_S3_REGION', Value: { Ref: 'AWS::Region' } },
              { Name: 'SLUICE_DB_AUTH', Value: 'iam' },
              { Name: 'SLUICE_DB_CA', Value: 'rds' },
              { Name: 'SLUICE_DB_POOL_SIZE', Value: '4' },
              { Name: 'SLUICE_WEBHOOK_TIMEOUT_S', Value: '45' },
              { Name: 'SLUICE_FLOW_TIMEOUT_S', Value: '600' },
              { Name: 'SLUICE_PUBLIC_URL', Value: 'https://sluice.example.com' },
            ]),
          }),
        ],
      }),
    );
  });

  it('connects as sluice_app with verify-full TLS, and migrates as the master user', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const environment: { Name: string; Value: unknown }[] =
      definition?.Properties.ContainerDefinitions[0].Environment;
    const joined = (name: string) =>
      JSON.stringify(environment.find((variable) => variable.Name === name)?.Value);
    expect(joined('DATABASE_URL')).toMatch(/"postgres:\/\/sluice_app@".*sslmode=verify-full"/);
    expect(joined('SLUICE_DB_ADMIN_URL')).toMatch(/"postgres:\/\/sluice@".*sslmode=verify-full"/);
    expect(JSON.stringify(environment)).not.toMatch(/no-verify|sslmode=require/);
  });

  it('lets the task role connect as sluice_app through IAM database authentication', () => {
    template.hasResourceProperties(
      'AWS::IAM::Policy',
      Match.objectLike({
        PolicyDocument: Match.objectLike({
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'rds-db:connect',
              Effect: 'Allow',
              Resource: {
                'Fn::Join': [
                  '',
                  Match.arrayWith([
                    ':dbuser:',
                    {
                      'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseInstance'), 'DbiResourceId'],
                    },
                    '/sluice_app',
                  ]),
                ],
              },
            }),
          ]),
        }),
      }),
    );
  });

  it('passes the master password, the Redis AUTH token and the API key as ECS secrets', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            Secrets: [
              {
                Name: 'SLUICE_REDIS_PASSWORD',
                ValueFrom: { Ref: Match.stringLikeRegexp('^CacheAuthToken') },
              },
              {
                Name: 'SLUICE_DB_ADMIN_PASSWORD',
                ValueFrom: {
                  'Fn::Join': [
                    '',
                    [
                      { Ref: Match.stringLikeRegexp('^DatabaseInstanceSecretAttachment') },
                      ':password::',
                    ],
                  ],
                },
              },
              { Name: 'SLUICE_API_KEY', ValueFrom: { Ref: Match.stringLikeRegexp('^ApiKey') } },
            ],
          }),
        ],
      }),
    );
  });

  it('never puts a secret in plain environment', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const environment = definition?.Properties.ContainerDefinitions[0].Environment;
    const names = environment.map((variable: { Name: string }) => variable.Name);
    for (const name of SECRET_NAMES) expect(names).not.toContain(name);
    // The secrets KMS key's ARN names a key, and gives nothing without the task role's grant.
    const plain = environment.filter(
      (variable: { Name: string }) => variable.Name !== 'SLUICE_SECRETS_KMS_KEY_ID',
    );
    expect(plain).toHaveLength(environment.length - 1);
    expect(JSON.stringify(plain)).not.toMatch(/AuthToken|Secret|password|resolve:/i);
  });

  it('logs to CloudWatch Logs with a retention', () => {
    template.hasResourceProperties(
      'AWS::ECS::TaskDefinition',
      Match.objectLike({
        ContainerDefinitions: [
          Match.objectLike({
            LogConfiguration: Match.objectLike({
              LogDriver: 'awslogs',
              Options: Match.objectLike({ 'awslogs-stream-prefix': 'app', mode: 'non-blocking' }),
            }),
          }),
        ],
      }),
    );
    template.hasResourceProperties(
      'AWS::Logs::LogGroup',
      Match.objectLike({ RetentionInDays: 30 }),
    );
  });

  it('rejects an invalid Fargate size, naming the prop', () => {
    const stack = newTestStack();
    const { task } = dataTier(stack);
    expect(
      () =>
        new SluiceTaskDefinition(stack, 'Task', {
          ...task,
          role: 'worker',
          cpu: 300,
          memoryLimitMiB: 512,
          publicUrl: 'http://x',
        }),
    ).toThrow('cpu must be one of 256, 512, 1024, 2048, 4096 (got 300)');
  });
});
