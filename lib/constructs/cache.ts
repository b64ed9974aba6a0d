import { Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { requireIntegerIn } from '../require-integer-in';

export interface CacheProps {
  readonly vpc: ec2.IVpc;
  /** Security group of the nodes; its ingress rules are the caller's (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * ElastiCache node type.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;
  /**
   * A replica in a second AZ with automatic failover.
   * @default true
   */
  readonly multiAz?: boolean;
  /**
   * Valkey engine version; the parameter group family follows its major version.
   * @default '8.0'
   */
  readonly engineVersion?: string;
  /**
   * RETAIN (or SNAPSHOT): a final snapshot of the replication group when it is deleted or
   * replaced, and the AUTH token secret kept. DESTROY deletes both.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days of daily automatic snapshots kept; 0 turns them off.
   * @default 1
   */
  readonly snapshotRetentionDays?: number;
}

const REDIS_PORT = 6379;

/**
 * An ElastiCache for Valkey replication group, cluster mode disabled: `noeviction` (BullMQ
 * must never lose a job to eviction), TLS with an AUTH token from Secrets Manager, encryption
 * at rest, daily snapshots, and a replica with automatic failover when Multi-AZ.
 */
export class Cache extends Construct {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The AUTH token, a plain-string secret, passed to tasks as SLUICE_REDIS_PASSWORD. */
  readonly authTokenSecret: secretsmanager.Secret;
  /** `rediss://primary:6379`, without credentials. */
  readonly url: string;
  readonly port = REDIS_PORT;
  /** Member cluster ids (`<group>-001`, ...), the CacheClusterId dimension of node metrics. */
  readonly nodeIds: readonly string[];

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const nodeType = props.nodeType ?? 'cache.t4g.micro';
    const multiAz = props.multiAz ?? true;
    const engineVersion = props.engineVersion ?? '8.0';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const snapshotRetentionDays = props.snapshotRetentionDays ?? 1;
    const major = /^(\d+)\.\d+$/.exec(engineVersion)?.[1];
    if (major === undefined) {
      throw new Error(`engineVersion must look like 8.0 (got ${engineVersion})`);
    }
    if (!nodeType.startsWith('cache.')) {
      throw new Error(
        `nodeType must be an ElastiCache node type such as cache.t4g.micro (got ${nodeType})`,
      );
    }
    requireIntegerIn('snapshotRetentionDays', snapshotRetentionDays, 0, 35);
    const nodes = multiAz ? 2 : 1;
    const retain = removalPolicy !== RemovalPolicy.DESTROY;

    this.authTokenSecret = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'Sluice ElastiCache AUTH token',
      // AUTH tokens allow only a few symbols; letters and digits avoid URL-escaping too.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Sluice ElastiCache isolated subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const parameterGroup = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: `valkey${major}`,
      description: 'Sluice: BullMQ needs noeviction',
      properties: { 'maxmemory-policy': 'noeviction' },
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Sluice queue and sync replies',
      engine: 'valkey',
      engineVersion,
      cacheNodeType: nodeType,
      clusterMode: 'disabled',
      numCacheClusters: nodes,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      cacheParameterGroupName: parameterGroup.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: this.authTokenSecret.secretValue.unsafeUnwrap(),
      autoMinorVersionUpgrade: true,
      // Daily, in a quiet hour UTC; the snapshot is taken from the replica when there is one.
      snapshotRetentionLimit: snapshotRetentionDays,
      ...(snapshotRetentionDays > 0 ? { snapshotWindow: '03:00-04:00' } : {}),
    });
    // Queued runs are also rows in PostgreSQL (the outbox), so the final snapshot is a
    // convenience for restoring in-flight jobs, not the system of record.
    this.replicationGroup.applyRemovalPolicy(
      retain ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    );
    this.url = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${REDIS_PORT}`;
    this.nodeIds = Array.from({ length: nodes }, (_, index) =>
      Fn.join('-', [this.replicationGroup.ref, String(index + 1).padStart(3, '0')]),
    );

    if (!multiAz) {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: 'multiAz=false was chosen in context for a non-production install',
      });
    }
    Validations.of(this.authTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The AUTH token is set on the replication group by CloudFormation; rotating it needs an ElastiCache AuthTokenUpdateStrategy ROTATE deployment followed by new tasks, a planned operation',
    });
  }
}
