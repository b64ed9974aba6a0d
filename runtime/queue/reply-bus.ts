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

export interface ReplyBus {
  /** This instance's channel; jobs carry it as `replyTo`. */
  readonly channel: string;
  publish(channel: string, reply: RunReply): Promise<void>;
  /** Resolves with the reply for `runId`, or null after `timeoutMs`. Register before enqueueing. */
  waitFor(runId: string, timeoutMs: number): { reply: Promise<RunReply | null>; cancel(): void };
  close(): Promise<void>;
}

export const replyChannel = (instanceId: string) => `sluice:reply:${instanceId}`;
