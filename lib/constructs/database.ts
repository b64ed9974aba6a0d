import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

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
   * RETAIN keeps the instance and turns deletion protection on; DESTROY deletes it and its
   * automated backups with the stack.
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

/** Database and user name the runtime connects with. */
export const DATABASE_NAME = 'sluice';
export const DATABASE_USERNAME = 'sluice';
const POSTGRES_PORT = 5432;

/**
 * RDS PostgreSQL 16 on gp3, encrypted, in isolated subnets, with generated credentials in
 * Secrets Manager, backups, and max_connections pinned so that pools can be sized against it.
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  /** The generated credentials: JSON with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  readonly maxConnections: number;
  /** `postgres://` URL without the password, which tasks get as SLUICE_DB_PASSWORD. */
  readonly connectionUrl: string;

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
    if (
      !Number.isInteger(backupRetentionDays) ||
      backupRetentionDays < 1 ||
      backupRetentionDays > 35
    ) {
      throw new Error(
        `backupRetentionDays must be an integer from 1 to 35 (got ${backupRetentionDays})`,
      );
    }
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
      deletionProtection: retain,
      deleteAutomatedBackups: !retain,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
    });
    const secret = this.instance.secret;
    if (secret === undefined) throw new Error('generated credentials produced no secret');
    this.secret = secret;
    this.maxConnections = props.maxConnections;
    // sslmode=no-verify: TLS is forced by rds.force_ssl; the RDS CA bundle is not in the image.
    this.connectionUrl = `postgres://${DATABASE_USERNAME}@${this.instance.dbInstanceEndpointAddress}:${this.instance.dbInstanceEndpointPort}/${DATABASE_NAME}?sslmode=no-verify`;

    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'Port 5432 is kept on purpose: the instance sits in isolated subnets and its security group admits only the task security groups, so a non-standard port would add no protection',
    });
    // Acknowledged on the instance: the generated secret is its child (Instance/Secret).
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'ECS injects the password at task start; rotating it would break new connections of running tasks until they are replaced, so rotation is a planned operation (rotate, then force a new deployment)',
    });
    if (!multiAz) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason:
          'multiAz=false was chosen in context for a non-production install; backups still run',
      });
    }
    if (!retain) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'removalPolicy=destroy was chosen in context for a disposable install',
      });
    }
  }
}
