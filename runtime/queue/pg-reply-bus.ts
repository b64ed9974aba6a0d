import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { endedAmong } from '../db/run-store';
import type { SessionConnection, SessionOptions } from '../db/session-connection';
import type { IdleWatch } from '../reliability/idle-watch';
import { createReplyAssembly, MAX_NOTIFY_BYTES, type ReplyPart, replyParts } from './notify-parts';
import { type ReplyBus, type RunReply, replyChannel } from './reply-bus';
import { createReplyWaiters } from './reply-waiters';

/** PostgreSQL truncates identifiers, LISTEN channel names included, past 63 bytes. */
const MAX_CHANNEL_BYTES = 63;
/** How often the listening session is probed (and, with idle release, checked for quiet). */
const LISTEN_PROBE_MS = 2000;

/** A reply too large even in parts: the waiter reads the run row, which is already committed. */
interface ReadRowNotice {
  runId: string;
  readRow: true;
}

/** The reply as one NOTIFY payload, or undefined when it is over NOTIFY's limit. */
function wholePayload(reply: RunReply): string | undefined {
  const payload = JSON.stringify(reply);
  return Buffer.byteLength(payload) <= MAX_NOTIFY_BYTES ? payload : undefined;
}

/** This instance's channel, hashed when a long SLUICE_INSTANCE_ID would be truncated. */
export function pgReplyChannel(instanceId: string): string {
  const channel = replyChannel(instanceId);
  if (Buffer.byteLength(channel) <= MAX_CHANNEL_BYTES) return channel;
  return replyChannel(createHash('sha256').update(instanceId).digest('hex').slice(0, 40));
}

/**
 * Sync replies over PostgreSQL LISTEN/NOTIFY, for deployments without Redis. The APP listens
 * on its own channel over a session connection (re-LISTENed after a reconnect); workers
 * publish with pg_notify through the pool. A reply over NOTIFY's limit travels in parts
 * (notify-parts), sent once the outcome is committed; one too large even for that travels as
 * "read the run row".
 *
 * With `idle`, the listening session closes once the process is quiet (no request, so no
 * waiter), and work reopens it: `idle.begin()` resolves only once LISTEN is back, so a request
 * that waits for a sync reply is listening before it enqueues the job.
 */
export async function createPgReplyBus(
  db: Database,
  instanceId: string,
  openSession: ((options: Omit<SessionOptions, 'access'>) => SessionConnection) | null,
  idle?: IdleWatch,
): Promise<ReplyBus> {
  const channel = pgReplyChannel(instanceId);
  const waiters = createReplyWaiters();
  const assembly = createReplyAssembly(waiters.has);
  let listenedBefore = false;
  const session = openSession?.({
    applicationName: 'sluice-replies',
    onConnect: async (client) => {
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      // Parts received on a lost session are never followed by the rest of their reply.
      assembly.clear();
      // Listening again after a lost session: a reply sent meanwhile went to nobody.
      // Read once LISTEN is back, so a run ending later still sends a reply that arrives; on a
      // failure these waiters read the row at their timeout.
      if (listenedBefore) {
        await waiters.wakeEnded((runIds) => endedAmong(db, runIds)).catch(() => undefined);
      }
      listenedBefore = true;
    },
    onNotification: ({ channel: from, payload }) => {
      if (from !== channel || payload === undefined) return;
      try {
        const message = JSON.parse(payload) as RunReply | ReadRowNotice | ReplyPart;
        if ('readRow' in message) waiters.wake(message.runId);
        else if ('part' in message) {
          const whole = assembly.add(message);
          if (whole !== undefined) waiters.deliver(JSON.parse(whole) as RunReply);
        } else waiters.deliver(message);
      } catch {
        // A malformed payload can only come from outside Sluice; the waiter times out.
      }
    },
  });
  // Listening before the first request, as the Redis bus subscribes before it returns.
  await session?.query('select 1');
  // A dropped session is only reopened by a query: probe it, so LISTEN is back within seconds
  // of a PostgreSQL restart. A reply sent meanwhile is missed; its waiter is woken to read the
  // row once LISTEN is back (wakeEnded).
  let probe: NodeJS.Timeout | undefined;
  let resting = false;
  let closed = false;
  const probeSession = (listening: SessionConnection) => {
    if (idle?.isQuiet() === true && waiters.size === 0) {
      clearInterval(probe);
      probe = undefined;
      resting = true;
      void listening.rest();
      return;
    }
    listening.query('select 1').catch(() => undefined);
  };
  const startProbe = (listening: SessionConnection) => {
    probe = setInterval(() => probeSession(listening), LISTEN_PROBE_MS);
    probe.unref();
  };
  if (session) {
    startProbe(session);
    // Requests that come while LISTEN is coming back (a paused Aurora resuming) all wait for it.
    let waking: Promise<void> | undefined;
    idle?.onBegin(() => {
      if (waking !== undefined || !resting || closed) return waking;
      resting = false;
      startProbe(session);
      waking = session
        .query('select 1')
        .then(() => undefined)
        .finally(() => {
          waking = undefined;
        });
      return waking;
    });
  }
  return {
    channel,
    async publish(to, reply) {
      const whole = wholePayload(reply);
      if (whole !== undefined) {
        await db.execute(sql`select pg_notify(${to}, ${whole})`);
        return;
      }
      const parts = replyParts(reply.runId, JSON.stringify(reply));
      if (parts === null) {
        const readRow = { runId: reply.runId, readRow: true } satisfies ReadRowNotice;
        await db.execute(sql`select pg_notify(${to}, ${JSON.stringify(readRow)})`);
        return;
      }
      // One statement, so the parts leave together and in order, at its commit.
      await db.execute(
        sql`select pg_notify(${to}, part) from unnest(${sql.param(parts)}::text[]) as part`,
      );
    },
    // A reply in parts is published once the outcome is recorded, not with it (see publish).
    notice(to, reply) {
      const payload = wholePayload(reply);
      return payload === undefined ? undefined : { channel: to, payload };
    },
    waitFor: waiters.waitFor,
    endWaits: waiters.cancelAll,
    async close() {
      closed = true;
      clearInterval(probe);
      waiters.cancelAll();
      await session?.close();
    },
  };
}
