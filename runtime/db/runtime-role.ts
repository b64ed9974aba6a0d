import type pg from 'pg';

/**
 * Makes `role` the least-privilege login the runtime serves as: it may read and write the rows
 * of Sluice's tables and read the migration journal (to wait for the schema), and nothing else:
 * no DDL, no ownership, no other schema. Runs as the admin (the RDS master user), under the
 * migration lock, so several APP tasks starting together do not race. Idempotent.
 *
 * Before migrating: the role, and default privileges so every table the admin creates from now
 * on (in this migration's transaction) is usable by the role the moment it commits.
 */
export async function prepareRuntimeRole(
  admin: pg.ClientBase,
  { role, password }: { role: string; password?: string | undefined },
): Promise<void> {
  const name = admin.escapeIdentifier(role);
  const { rowCount } = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
  if (rowCount === 0) await admin.query(`create role ${name} login`);
  // Password mode: the role logs in with SLUICE_DB_PASSWORD. IAM mode: no password at all.
  if (password !== undefined) {
    await admin.query(`alter role ${name} login password ${admin.escapeLiteral(password)}`);
  }
  // On RDS, IAM database authentication is granted through this role (it exists only there).
  const iam = await admin.query(`select 1 from pg_roles where rolname = 'rds_iam'`);
  if (iam.rowCount !== 0) await admin.query(`grant rds_iam to ${name}`);
  // PostgreSQL before 15 let every role create objects in public; 15+ already refuses.
  await admin.query('revoke create on schema public from public');
  await admin.query(
    `grant connect on database ${admin.escapeIdentifier(await currentDatabase(admin))} to ${name}`,
  );
  await admin.query(`grant usage on schema public to ${name}`);
  await admin.query(
    `alter default privileges in schema public grant select, insert, update, delete on tables to ${name}`,
  );
  await admin.query(
    `alter default privileges in schema public grant usage, select on sequences to ${name}`,
  );
}

/** After migrating: the rights on what exists, tables made before the role included. */
export async function grantRuntimeRole(admin: pg.ClientBase, role: string): Promise<void> {
  const name = admin.escapeIdentifier(role);
  await admin.query(
    `grant select, insert, update, delete on all tables in schema public to ${name}`,
  );
  await admin.query(`grant usage, select on all sequences in schema public to ${name}`);
  await admin.query(`grant usage on schema drizzle to ${name}`);
  await admin.query(`grant select on drizzle.__drizzle_migrations to ${name}`);
}

async function currentDatabase(admin: pg.ClientBase): Promise<string> {
  const { rows } = await admin.query<{ name: string }>('select current_database() as name');
  return rows[0]?.name ?? '';
}
