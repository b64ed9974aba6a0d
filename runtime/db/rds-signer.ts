import { Signer } from '@aws-sdk/rds-signer';
import type { AuthTokenSigner } from './iam-auth-token';

/**
 * Signs RDS IAM auth tokens for DATABASE_URL's host, port and user, offline, from the AWS
 * default credential chain (the task role on ECS). Imported only in IAM mode.
 */
export function rdsSigner(databaseUrl: string, region: string): AuthTokenSigner {
  const url = new URL(databaseUrl);
  return new Signer({
    hostname: url.hostname,
    port: Number(url.port || 5432),
    username: decodeURIComponent(url.username),
    region,
  });
}
