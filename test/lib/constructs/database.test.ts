import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../../lib/constructs/database';
import { Network } from '../../../lib/constructs/network';
import { newTestStack } from '../fixtures';

function databaseStack(props: { multiAz?: boolean; removalPolicy?: RemovalPolicy } = {}) {
  const stack = newTestStack();
  const network = new Network(stack, 'Network');
  const database = new Database(stack, 'Database', {
    vpc: network.vpc,
    securityGroup: network.databaseSecurityGroup,
    instanceType: 't4g.medium',
    maxConnections: 400,
    ...props,
  });
  return { stack, database };
}

describe('Database', () => {
  describe('with defaults (retain, Multi-AZ)', () => {
    let template: Template;
    let database: Database;

    beforeAll(() => {
      // GIVEN a network WHEN a Database is added with the defaults
      const built = databaseStack();
      database = built.database;
      template = Template.fromStack(built.stack);
    });

    it('runs PostgreSQL 16 on encrypted gp3 with backups, Multi-AZ and deletion protection', () => {
      template.hasResourceProperties(
        'AWS::RDS::DBInstance',
        Match.objectLike({
          Engine: 'postgres',
          EngineVersion: '16',
          DBInstanceClass: 'db.t4g.medium',
          DBName: 'sluice',
          StorageType: 'gp3',
          StorageEncrypted: true,
          MultiAZ: true,
          BackupRetentionPeriod: 7,
          DeletionProtection: true,
          PubliclyAccessible: false,
        }),
      );
      template.hasResource('AWS::RDS::DBInstance', {
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
      });
    });

    it('turns IAM database authentication on', () => {
      template.hasResourceProperties(
        'AWS::RDS::DBInstance',
        Match.objectLike({ EnableIAMDatabaseAuthentication: true }),
      );
    });

    it('keeps the master secret, the only password of the final snapshot', () => {
      template.hasResource('AWS::SecretsManager::Secret', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('keeps the credentials, user sluice, in a generated Secrets Manager secret', () => {
      template.hasResourceProperties(
        'AWS::SecretsManager::Secret',
        Match.objectLike({
          GenerateSecretString: Match.objectLike({
            SecretStringTemplate: '{"username":"sluice"}',
            GenerateStringKey: 'password',
          }),
        }),
      );
    });

    it('pins max_connections and forces TLS in the parameter group', () => {
      template.hasResourceProperties(
        'AWS::RDS::DBParameterGroup',
        Match.objectLike({
          Family: 'postgres16',
          Parameters: { max_connections: '400', 'rds.force_ssl': '1' },
        }),
      );
    });

    it('lives in the isolated subnets', () => {
      template.hasResourceProperties(
        'AWS::RDS::DBSubnetGroup',
        Match.objectLike({
          SubnetIds: [
            { Ref: Match.stringLikeRegexp('NetworkVpcdataSubnet1') },
            { Ref: Match.stringLikeRegexp('NetworkVpcdataSubnet2') },
          ],
        }),
      );
    });

    it.each([
      ['connectionUrl', 'sluice_app'],
      ['adminConnectionUrl', 'sluice'],
    ] as const)(
      'builds a password-free %s for %s that verifies the server certificate',
      (key, user) => {
        expect(Stack.of(database).resolve(database[key])).toEqual({
          'Fn::Join': [
            '',
            [
              `postgres://${user}@`,
              { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Address'] },
              ':',
              { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Port'] },
              '/sluice?sslmode=verify-full',
            ],
          ],
        });
      },
    );
  });

  it('drops deletion protection and deletes with the stack when destroy is chosen', () => {
    // GIVEN removalPolicy DESTROY and a single AZ
    const { stack } = databaseStack({ removalPolicy: RemovalPolicy.DESTROY, multiAz: false });
    // WHEN synthesized
    const template = Template.fromStack(stack);
    // THEN
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        DeletionProtection: false,
        DeleteAutomatedBackups: true,
        MultiAZ: false,
      }),
    });
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
  });

  it('rejects a max_connections too small to share', () => {
    const stack = newTestStack();
    const network = new Network(stack, 'Network');
    expect(
      () =>
        new Database(stack, 'Database', {
          vpc: network.vpc,
          securityGroup: network.databaseSecurityGroup,
          instanceType: 't4g.micro',
          maxConnections: 5,
        }),
    ).toThrow('maxConnections must be an integer of at least 20 (got 5)');
  });
});
