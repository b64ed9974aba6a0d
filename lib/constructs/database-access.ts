import { Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';

/**
 * What a task needs from PostgreSQL, whichever construct serves it (Database: an RDS instance;
 * ServerlessDatabase: Aurora Serverless v2): the runtime role over IAM tokens and verified TLS,
 * and the master user for migrations.
 */
export interface DatabaseAccess {
  /** The generated master credentials: JSON with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  /** DATABASE_URL of the runtime role: no password, `sslmode=verify-full`. */
  readonly connectionUrl: string;
  /** SLUICE_DB_ADMIN_URL: the master user, without its password. */
  readonly adminConnectionUrl: string;
  /** rds-db:connect as the runtime role, the only way a task role reaches the database. */
  grantConnectAsApp(grantee: iam.IGrantable): void;
}

/**
 * The cdk-nag findings both database constructs acknowledge, on the instance or cluster (its
 * generated secret is its child): the standard port, the master secret's rotation, and with
 * `retain` false the deletion protection that destroy must not have.
 */
export function acknowledgeDatabaseFindings(database: IConstruct, retain: boolean): void {
  Validations.of(database).acknowledge(
    {
      id: 'AwsSolutions-RDS11',
      reason:
        'Port 5432 is kept on purpose: the database sits in isolated subnets and its security group admits only the task security groups, so a non-standard port would add no protection',
    },
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'The master password reaches only APP tasks, which use it at start to migrate and to create the runtime role; tasks serve with IAM tokens. Rotation is a planned operation (rotate, then force a new APP deployment)',
    },
  );
  if (!retain) {
    Validations.of(database).acknowledge({
      id: 'AwsSolutions-RDS10',
      reason: 'removalPolicy=destroy was chosen in context for a disposable install',
    });
  }
}

/** A PostgreSQL URL with no password (IAM tokens or a secret supply it) and verify-full TLS. */
export function verifiedDatabaseUrl(host: string, port: string, user: string, database: string) {
  return `postgres://${user}@${host}:${port}/${database}?sslmode=verify-full`;
}
