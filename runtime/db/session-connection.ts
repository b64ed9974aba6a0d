import pg from 'pg';
import { connectionConfig, type PostgresAccess } from './client';

export interface SessionOptions {
  /** The pool's login (URL, password or IAM token, TLS), resolved once it is known. */
  access: PostgresAccess | Promise<PostgresAccess>;
  /** Shown in pg_stat_activity; the worker count is read from it (see worker-presence). */
  applicationName: string;
  /** Re-creates session state (LISTEN, advisory locks) on each new connection. */
  onConnect?: (client: pg.Client) => Promise<void>;
  onNotification?: (message: pg.Notification) => void;
}

/**
 * One PostgreSQL connection of our own, outside the pool, for state that lives as long as a
 * session: advisory locks and LISTEN. When the connection drops, PostgreSQL frees that state;
 * the next query opens a new session and `onConnect` takes what it can back.
 */
export interface SessionConnection {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Counts sessions opened so far: a change means locks taken in an earlier one are gone. */
  readonly generation: number;
  /**
   * Ends the current connection, and the session state with it (locks, LISTEN), but stays
   * usable: the next query opens a new session. For resting while idle (see idle-watch).
   */
  rest(): Promise<void>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 2000;
/**
 * The connect bound of the first connection after a rest: the database may have paused
 * meanwhile (Aurora Serverless v2 at 0 ACU), and Aurora holds a connection to a paused
 * instance until it has resumed, about 15 s. Work waits for it rather than failing.
 */
export const RESUME_CONNECT_TIMEOUT_MS = 30_000;
/** Bounds a statement on the session, so a hung server cannot hold its caller forever. */
const STATEMENT_TIMEOUT_MS = 5000;

export function createSessionConnection(options: SessionOptions): SessionConnection {
  let client: Promise<pg.Client> | undefined;
  let generation = 0;
  let closed = false;
  let rested = false;
  let current: pg.Client | undefined;

  const open = async (): Promise<pg.Client> => {
    const connectionTimeoutMillis = rested ? RESUME_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS;
    rested = false;
    const fresh = new pg.Client({
      ...connectionConfig(await options.access),
      application_name: options.applicationName,
      connectionTimeoutMillis,
      query_timeout: STATEMENT_TIMEOUT_MS,
      keepAlive: true,
    });
    const drop = () => {
      if (current === fresh) {
        client = undefined;
        current = undefined;
      }
    };
    // A lost connection must not crash the process: the next query reconnects.
    fresh.on('error', drop);
    fresh.on('end', drop);
    if (options.onNotification) fresh.on('notification', options.onNotification);
    try {
      await fresh.connect();
      current = fresh;
      generation++;
      await options.onConnect?.(fresh);
      return fresh;
    } catch (error) {
      drop();
      fresh.end().catch(() => undefined);
      throw error;
    }
  };

  const connected = () => {
    if (closed) return Promise.reject(new Error('session connection closed'));
    client ??= open();
    const pending = client;
    pending.catch(() => {
      if (client === pending) client = undefined;
    });
    return pending;
  };

  return {
    async query(text, values) {
      const session = await connected();
      return (await session.query(text, values)).rows;
    },
    get generation() {
      return generation;
    },
    async rest() {
      // Forgotten at once, so that a query from now on opens a new session.
      const pending = client;
      client = undefined;
      rested = true;
      const session = await pending?.catch(() => undefined);
      if (session !== undefined && current === session) current = undefined;
      await session?.end().catch(() => undefined);
    },
    async close() {
      closed = true;
      const session = await client?.catch(() => undefined);
      client = undefined;
      current = undefined;
      await session?.end().catch(() => undefined);
    },
  };
}
