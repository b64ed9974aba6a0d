import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { requireIntegerIn } from '../require-integer-in';
import { acknowledgeDatabaseFindings, verifiedDatabaseUrl } from './database-access';

export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Security group of the instance; its ingress rules are the caller's (see Network). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Instance class without the `db.` prefix, as chosen by sizing, e.g. `t4g.medium`. */
  readonly instanceType: string;
  /** max_connections set in the parameter group; task pools are sized against it. */
  readonly maxConnections: number;
  /**
   * Run a synchronous standby in a second AZ.
   * @default true
   */
  readonly multiAz?: boolean;
  /**
   * RETAIN (or SNAPSHOT): deletion protection on, a final snapshot when the instance is deleted
   * or replaced, and the master secret kept, since it is the only password of that snapshot.
   * DESTROY deletes the instance, its automated backups and its secret with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Initial gp3 storage.
   * @default 20
   */
  readonly allocatedStorageGiB?: number;
  /**
   * Ceiling for storage autoscaling.
   * @default 100
   */
  readonly maxAllocatedStorageGiB?: number;
  /**
   * Days of automated backups (point-in-time recovery).
   * @default 7
   */
  readonly backupRetentionDays?: number;
}

/** Database name, and the master user, which only migrates and creates DATABASE_APP_USERNAME. */
export const DATABASE_NAME = 'sluice';
export const DATABASE_USERNAME = 'sluice';
/**
 * The role APP and worker tasks serve as: IAM database authentication, only the rights Sluice
 * uses. The APP creates it (as the master user) before it serves; see the README's database
 * section.
 */
export const DATABASE_APP_USERNAME = 'sluice_app';
const POSTGRES_PORT = 5432;

/**
 * RDS PostgreSQL 16 on gp3, encrypted, in isolated subnets, TLS forced, IAM database
 * authentication on, generated master credentials in Secrets Manager, backups, and
 * max_connections pinned so that pools can be sized against it.
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  /** The generated credentials: JSON with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  readonly maxConnections: number;
  readonly allocatedStorageGiB: number;
  /**
   * DATABASE_URL of the runtime role: no password (IAM tokens), and `sslmode=verify-full`, so
   * that the server's certificate is checked against the RDS CA bundle (SLUICE_DB_CA=rds).
   */
  readonly connectionUrl: string;
  /** SLUICE_DB_ADMIN_URL: the master user, without its password (SLUICE_DB_ADMIN_PASSWORD). */
  readonly adminConnectionUrl: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const multiAz = props.multiAz ?? true;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const allocatedStorageGiB = props.allocatedStorageGiB ?? 20;
    const maxAllocatedStorageGiB = props.maxAllocatedStorageGiB ?? 100;
    const backupRetentionDays = props.backupRetentionDays ?? 7;
    if (!Number.isInteger(props.maxConnections) || props.maxConnections < 20) {
      throw new Error(
        `maxConnections must be an integer of at least 20 (got ${props.maxConnections})`,
      );
    }
    if (allocatedStorageGiB < 20) {
      throw new Error(
        `allocatedStorageGiB must be at least 20, the gp3 minimum (got ${allocatedStorageGiB})`,
      );
    }
    if (maxAllocatedStorageGiB < allocatedStorageGiB) {
      throw new Error(
        `maxAllocatedStorageGiB must be at least allocatedStorageGiB ${allocatedStorageGiB} (got ${maxAllocatedStorageGiB})`,
      );
    }
    requireIntegerIn('backupRetentionDays', backupRetentionDays, 1, 35);
    const retain = removalPolicy !== RemovalPolicy.DESTROY;

    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.VER_16,
    });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Sluice PostgreSQL 16',
      parameters: {
        max_connections: String(props.maxConnections),
        'rds.force_ssl': '1',
      },
    });
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      instanceType: new ec2.InstanceType(props.instanceType),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      port: POSTGRES_PORT,
      databaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USERNAME),
      parameterGroup,
      multiAz,
      storageType: rds.StorageType.GP3,
      allocatedStorage: allocatedStorageGiB,
      maxAllocatedStorage: maxAllocatedStorageGiB,
      storageEncrypted: true,
      backupRetention: Duration.days(backupRetentionDays),
      iamAuthentication: true,
      // Deleting a protected instance fails; with RETAIN the operator turns protection off
      // first (README), and CloudFormation then takes the final snapshot.
      deletionProtection: retain,
      deleteAutomatedBackups: !retain,
      removalPolicy: retain ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
    });
    const secret = this.instance.secret;
    if (secret === undefined) throw new Error('generated credentials produced no secret');
    this.secret = secret;
    // The generated secret (Instance/Secret) defaults to DESTROY; a snapshot is useless without it.
    const generatedSecret = this.instance.node.findChild('Secret') as secretsmanager.Secret;
    generatedSecret.applyRemovalPolicy(retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    this.maxConnections = props.maxConnections;
    this.allocatedStorageGiB = allocatedStorageGiB;
    const url = (user: string) =>
      verifiedDatabaseUrl(
        this.instance.dbInstanceEndpointAddress,
        this.instance.dbInstanceEndpointPort,
        user,
        DATABASE_NAME,
      );
    this.connectionUrl = url(DATABASE_APP_USERNAME);
    this.adminConnectionUrl = url(DATABASE_USERNAME);

    acknowledgeDatabaseFindings(this.instance, retain);
    if (!multiAz) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason:
          'multiAz=false was chosen in context for a non-production install; backups still run',
      });
    }
  }

  /** rds-db:connect as DATABASE_APP_USERNAME, the only way a task role reaches the database. */
  grantConnectAsApp(grantee: iam.IGrantable): void {
    this.instance.grantConnect(grantee, DATABASE_APP_USERNAME);
  }
}
