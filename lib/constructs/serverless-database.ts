import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { requireIntegerIn } from '../require-integer-in';
import { DATABASE_APP_USERNAME, DATABASE_NAME, DATABASE_USERNAME } from './database';
import {
  acknowledgeDatabaseFindings,
  type DatabaseAccess,
  verifiedDatabaseUrl,
} from './database-access';

export interface ServerlessDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Security group of the cluster; its ingress rules are the caller's (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Most Aurora capacity units, from sizing (serverless-sizing.ts). */
  readonly maxAcu: number;
  /**
   * Fewest capacity units: 0 lets Aurora pause after `pauseAfterMinutes` without a connection
   * (the next connection waits about 15 s while it resumes); 0.5 keeps it warm.
   * @default 0
   */
  readonly minAcu?: number;
  /**
   * Minutes without a connection before a `minAcu` 0 cluster pauses (Aurora allows 5 to 1440).
   * @default 10
   */
  readonly pauseAfterMinutes?: number;
  /**
   * RETAIN (or SNAPSHOT): deletion protection on, a final snapshot, the master secret kept.
   * DESTROY deletes the cluster and its secret with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days of automated backups (point-in-time recovery).
   * @default 7
   */
  readonly backupRetentionDays?: number;
}

/** Aurora Serverless v2 scales in half-ACU steps; 256 is its ceiling per instance. */
const MAX_ACU_LIMIT = 256;
/** Auto-pause needs Aurora PostgreSQL 16.3 or later on the 16 line. */
const ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_16_6;
const POSTGRES_PORT = 5432;

/**
 * Aurora Serverless v2 PostgreSQL 16 for the serverless profile: one serverless writer in
 * isolated subnets, encrypted, TLS forced, IAM database authentication on, and the same users
 * and URLs as Database (DatabaseAccess), so that tasks cannot tell them apart. Aurora's cluster
 * endpoint certificate is signed by the RDS CA bundle, so `sslmode=verify-full` with
 * SLUICE_DB_CA=rds holds here too. Aurora storage grows by itself: no storage to allocate.
 */
export class ServerlessDatabase extends Construct implements DatabaseAccess {
  readonly cluster: rds.DatabaseCluster;
  readonly secret: secretsmanager.ISecret;
  readonly connectionUrl: string;
  readonly adminConnectionUrl: string;
  readonly minAcu: number;
  readonly maxAcu: number;

  constructor(scope: Construct, id: string, props: ServerlessDatabaseProps) {
    super(scope, id);
    const minAcu = props.minAcu ?? 0;
    const pauseAfterMinutes = props.pauseAfterMinutes ?? 10;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const backupRetentionDays = props.backupRetentionDays ?? 7;
    const halfSteps = (value: number) => Number.isInteger(value * 2);
    if (!halfSteps(minAcu) || minAcu < 0 || minAcu > MAX_ACU_LIMIT) {
      throw new Error(
        `databaseMinAcu must be 0 or a multiple of 0.5 up to ${MAX_ACU_LIMIT} (got ${minAcu})`,
      );
    }
    if (
      !halfSteps(props.maxAcu) ||
      props.maxAcu < Math.max(1, minAcu) ||
      props.maxAcu > MAX_ACU_LIMIT
    ) {
      throw new Error(
        `databaseMaxAcu must be a multiple of 0.5 from max(1, databaseMinAcu ${minAcu}) to ${MAX_ACU_LIMIT} (got ${props.maxAcu})`,
      );
    }
    requireIntegerIn('databasePauseAfterMinutes', pauseAfterMinutes, 5, 1440);
    requireIntegerIn('backupRetentionDays', backupRetentionDays, 1, 35);
    const retain = removalPolicy !== RemovalPolicy.DESTROY;
    this.minAcu = minAcu;
    this.maxAcu = props.maxAcu;

    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: ENGINE_VERSION });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Sluice Aurora PostgreSQL 16',
      parameters: { 'rds.force_ssl': '1' },
    });
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      writer: rds.ClusterInstance.serverlessV2('Writer', {
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
      }),
      serverlessV2MinCapacity: minAcu,
      serverlessV2MaxCapacity: props.maxAcu,
      ...(minAcu === 0
        ? { serverlessV2AutoPauseDuration: Duration.minutes(pauseAfterMinutes) }
        : {}),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      port: POSTGRES_PORT,
      defaultDatabaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USERNAME),
      parameterGroup,
      storageEncrypted: true,
      iamAuthentication: true,
      backup: { retention: Duration.days(backupRetentionDays) },
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    const secret = this.cluster.secret;
    if (secret === undefined) throw new Error('generated credentials produced no secret');
    this.secret = secret;
    const generatedSecret = this.cluster.node.findChild('Secret') as secretsmanager.Secret;
    generatedSecret.applyRemovalPolicy(retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    const url = (user: string) =>
      verifiedDatabaseUrl(
        this.cluster.clusterEndpoint.hostname,
        String(this.cluster.clusterEndpoint.port),
        user,
        DATABASE_NAME,
      );
    this.connectionUrl = url(DATABASE_APP_USERNAME);
    this.adminConnectionUrl = url(DATABASE_USERNAME);

    acknowledgeDatabaseFindings(this.cluster, retain);
  }

  grantConnectAsApp(grantee: iam.IGrantable): void {
    this.cluster.grantConnect(grantee, DATABASE_APP_USERNAME);
  }
}
