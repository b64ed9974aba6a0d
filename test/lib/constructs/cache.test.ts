import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../../lib/constructs/cache';
import { Network } from '../../../lib/constructs/network';
import { newTestStack } from '../fixtures';

function cacheStack(multiAz?: boolean) {
  const stack = newTestStack();
  const network = new Network(stack, 'Network');
  const cache = new Cache(stack, 'Cache', {
    vpc: network.vpc,
    securityGroup: network.cacheSecurityGroup as ec2.ISecurityGroup,
    nodeType: 'cache.t4g.small',
    ...(multiAz === undefined ? {} : { multiAz }),
  });
  return { stack, cache };
}

describe('Cache', () => {
  describe('with defaults (Multi-AZ)', () => {
    let template: Template;
    let cache: Cache;

    beforeAll(() => {
      // GIVEN a network WHEN a Cache is added
      const built = cacheStack();
      cache = built.cache;
      template = Template.fromStack(built.stack);
    });

    it('is a Valkey replication group with cluster mode disabled', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::ReplicationGroup',
        Match.objectLike({
          Engine: 'valkey',
          ClusterMode: 'disabled',
          CacheNodeType: 'cache.t4g.small',
          Port: 6379,
        }),
      );
    });

    it('keeps daily snapshots for 1 day and takes a final one on delete or replacement', () => {
      template.hasResource('AWS::ElastiCache::ReplicationGroup', {
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
        Properties: Match.objectLike({ SnapshotRetentionLimit: 1, SnapshotWindow: '03:00-04:00' }),
      });
    });

    it('sets maxmemory-policy noeviction', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::ParameterGroup',
        Match.objectLike({
          CacheParameterGroupFamily: 'valkey8',
          Properties: { 'maxmemory-policy': 'noeviction' },
        }),
      );
    });

    it('encrypts in transit and at rest with an AUTH token from Secrets Manager', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::ReplicationGroup',
        Match.objectLike({
          TransitEncryptionEnabled: true,
          AtRestEncryptionEnabled: true,
          AuthToken: {
            'Fn::Join': [
              '',
              [
                '{{resolve:secretsmanager:',
                { Ref: Match.stringLikeRegexp('^CacheAuthToken') },
                ':SecretString:::}}',
              ],
            ],
          },
        }),
      );
      template.hasResourceProperties(
        'AWS::SecretsManager::Secret',
        Match.objectLike({
          GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 64 },
        }),
      );
    });

    it('keeps a replica in a second AZ with automatic failover', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::ReplicationGroup',
        Match.objectLike({
          NumCacheClusters: 2,
          AutomaticFailoverEnabled: true,
          MultiAZEnabled: true,
        }),
      );
    });

    it('lives in the isolated subnets', () => {
      template.hasResourceProperties(
        'AWS::ElastiCache::SubnetGroup',
        Match.objectLike({
          SubnetIds: [
            { Ref: Match.stringLikeRegexp('NetworkVpcdataSubnet1') },
            { Ref: Match.stringLikeRegexp('NetworkVpcdataSubnet2') },
          ],
        }),
      );
    });

    it('gives tasks a rediss:// URL with no credentials in it', () => {
      expect(Stack.of(cache).resolve(cache.url)).toEqual({
        'Fn::Join': [
          '',
          [
            'rediss://',
            {
              'Fn::GetAtt': [
                expect.stringMatching(/^CacheReplicationGroup/),
                'PrimaryEndPoint.Address',
              ],
            },
            ':6379',
          ],
        ],
      });
    });
  });

  it('runs a single node without failover when multiAz is off', () => {
    const template = Template.fromStack(cacheStack(false).stack);

    template.hasResourceProperties(
      'AWS::ElastiCache::ReplicationGroup',
      Match.objectLike({
        NumCacheClusters: 1,
        AutomaticFailoverEnabled: false,
        MultiAZEnabled: false,
      }),
    );
  });

  it('rejects an engine version it cannot map to a parameter group family', () => {
    const stack = newTestStack();
    const network = new Network(stack, 'Network');
    expect(
      () =>
        new Cache(stack, 'Cache', {
          vpc: network.vpc,
          securityGroup: network.cacheSecurityGroup as ec2.ISecurityGroup,
          engineVersion: 'latest',
        }),
    ).toThrow('engineVersion must look like 8.0 (got latest)');
  });
});
