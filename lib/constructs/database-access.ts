import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

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
