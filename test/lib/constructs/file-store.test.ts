import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../../lib/constructs/file-store';
import { newTestStack } from '../fixtures';

describe('FileStore', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN a stack with a role
    const stack = newTestStack();
    const role = new iam.Role(stack, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    // WHEN a FileStore grants the role read/write
    const store = new FileStore(stack, 'FileStore', { runLogRetentionDays: 14 });
    store.grantReadWrite(role);
    template = Template.fromStack(stack);
  });

  it('blocks all public access, encrypts with S3-managed keys and keeps versions', () => {
    template.hasResourceProperties(
      'AWS::S3::Bucket',
      Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('denies every request that is not over TLS', () => {
    template.hasResourceProperties(
      'AWS::S3::BucketPolicy',
      Match.objectLike({
        PolicyDocument: Match.objectLike({
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        }),
      }),
    );
  });

  it('expires RUN_LOG objects after the configured days, and noncurrent versions', () => {
    template.hasResourceProperties(
      'AWS::S3::Bucket',
      Match.objectLike({
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'expire-run-logs',
              Status: 'Enabled',
              TagFilters: [{ Key: 'sluice-kind', Value: 'RUN_LOG' }],
              ExpirationInDays: 14,
            }),
            Match.objectLike({
              Id: 'expire-noncurrent-versions',
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            }),
          ]),
        },
      }),
    );
  });

  it('grants object read/write and listing on this bucket only', () => {
    const bucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^FileStoreBucket'), 'Arn'] };
    template.hasResourceProperties(
      'AWS::IAM::Policy',
      Match.objectLike({
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
              Resource: { 'Fn::Join': ['', [bucketArn, '/*']] },
            },
            { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn },
          ],
        },
      }),
    );
  });

  it('empties and deletes the bucket with the stack when destroy is chosen', () => {
    const stack = newTestStack();
    new FileStore(stack, 'FileStore', { removalPolicy: RemovalPolicy.DESTROY });
    const destroyed = Template.fromStack(stack);

    destroyed.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    destroyed.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  it('has no CORS rule by default, so no web page can call the bucket', () => {
    template.hasResourceProperties(
      'AWS::S3::Bucket',
      Match.objectLike({ CorsConfiguration: Match.absent() }),
    );
  });

  it('lets the given origins PUT to pre-signed upload URLs and GET downloads', () => {
    // GIVEN two web origins WHEN the FileStore is built with them
    const stack = newTestStack();
    new FileStore(stack, 'FileStore', {
      corsAllowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
    });
    // THEN the bucket's one CORS rule allows exactly those origins and the methods a browser uses
    Template.fromStack(stack).hasResourceProperties(
      'AWS::S3::Bucket',
      Match.objectLike({
        CorsConfiguration: {
          CorsRules: [
            {
              AllowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
              AllowedMethods: ['PUT', 'GET', 'HEAD'],
              AllowedHeaders: ['content-type', 'content-md5', 'content-disposition', 'x-amz-*'],
              ExposedHeaders: ['ETag', 'Content-Disposition'],
              MaxAge: 3000,
            },
          ],
        },
      }),
    );
  });

  it.each(['*', 'https://app.example.com/', 'app.example.com', 'https://*.example.com'])(
    'rejects the CORS origin %s',
    (origin) => {
      expect(
        () => new FileStore(newTestStack(), 'FileStore', { corsAllowedOrigins: [origin] }),
      ).toThrow(
        `corsAllowedOrigins must be origins like https://app.example.com, no path or wildcard (got ${origin})`,
      );
    },
  );

  it('rejects a retention that is not a positive number of days', () => {
    expect(() => new FileStore(newTestStack(), 'FileStore', { runLogRetentionDays: 0 })).toThrow(
      'runLogRetentionDays must be a positive integer (got 0)',
    );
  });
});
