/**
 * The database schema never reached the version this code needs: the APP task, which migrates
 * as the admin user, did not run (or failed). Its message is one line, for the start-up log.
 */
export class SchemaWaitTimeoutError extends Error {
  constructor(waitedSeconds: number, lastError: unknown) {
    const why =
      lastError instanceof Error
        ? `; last error: ${lastError.message.split('\n')[0]}`
        : ' (the APP migrates it with SLUICE_DB_ADMIN_URL)';
    super(
      `database schema is not at the newest migration after SLUICE_DB_SCHEMA_WAIT_S=${waitedSeconds} s${why}`,
    );
    this.name = 'SchemaWaitTimeoutError';
  }
}
