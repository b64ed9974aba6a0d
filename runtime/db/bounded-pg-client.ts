import pg from 'pg';

type Release = (error?: Error | boolean) => void;

/** What node-postgres rejects a query with when `query_timeout` passes. */
const READ_TIMEOUT = 'Query read timeout';

/**
 * A pool client for a PostgreSQL that may hang (accept and never answer). The pool gives every
 * query `query_timeout`; when one passes, this client gives up its connection, whose query may
 * still be running so that nothing can follow it, and hands itself back to the pool with the
 * error, which drops it. Without that, a transaction whose `begin` timed out (drizzle then
 * never releases its client) would hold a pool slot for good, and one whose later statement
 * timed out would queue its rollback behind the hung statement.
 */
export class BoundedPgClient extends pg.Client {
  #release: Release | undefined;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // A checked-out client has no pool listener: its dropped connection must not crash us.
    this.on('error', () => undefined);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    Object.assign(this, {
      query: (...args: unknown[]) => {
        const result = query(...args);
        if (result instanceof Promise) {
          result.catch((error: unknown) => {
            if (error instanceof Error && error.message === READ_TIMEOUT) this.#abandon(error);
          });
        }
        return result;
      },
    });
  }

  /** pg-pool sets this on each checkout; kept here so that the client can release itself. */
  set release(release: Release | undefined) {
    this.#release = release;
  }

  /** Releases once per checkout; later calls (drizzle's, after ours) do nothing. */
  get release(): Release {
    return (error) => {
      const release = this.#release;
      this.#release = undefined;
      release?.(error);
    };
  }

  #abandon(error: Error) {
    this.connection.stream.destroy();
    this.release(error);
  }
}
