import type { RunStatus } from '../db/schema';

/** The outcome a worker sends to the APP instance waiting on a sync webhook. */
export interface RunReply {
  runId: string;
  status: RunStatus;
  responseStatus?: number;
  body?: unknown;
  headers?: Record<string, string>;
  error?: string;
  failedStep?: string | null;
}

/** A reply as a PostgreSQL NOTIFY: sent by whichever statement commits the run's outcome. */
export interface ReplyNotice {
  channel: string;
  payload: string;
}

export interface ReplyBus {
  /** This instance's channel; jobs carry it as `replyTo`. */
  readonly channel: string;
  publish(channel: string, reply: RunReply): Promise<void>;
  /**
   * The reply as a NOTIFY for the statement that records the run's outcome to send (the
   * PostgreSQL bus): it then leaves with that commit, with no round trip or commit of its own.
   * Absent, or undefined, where replies travel another way: then `publish` after the record.
   */
  notice?(channel: string, reply: RunReply): ReplyNotice | undefined;
  /** Resolves with the reply for `runId`, or null after `timeoutMs`. Register before enqueueing. */
  waitFor(runId: string, timeoutMs: number): { reply: Promise<RunReply | null>; cancel(): void };
  /**
   * Ends every pending wait now with no reply, so each caller reads the run row instead (and,
   * its run unfinished, gets 504 with the runId): for a process whose own worker has handed its
   * runs back and stopped, and whose HTTP server would otherwise wait out the webhook timeout.
   */
  endWaits(): void;
  close(): Promise<void>;
}

export const replyChannel = (instanceId: string) => `sluice:reply:${instanceId}`;
