import { isDataRefusal } from '../db/database-refusal';
import type { OutcomeNotify } from '../db/run-store';

/** Whether the outcome was recorded, and whether its sync reply left with it. */
export interface NoticedFinish {
  recorded: boolean;
  replied: boolean;
}

/**
 * Records a run's outcome through `finish`, with the sync reply's NOTIFY in the same statement.
 * Should PostgreSQL refuse that statement (a full NOTIFY queue, or a datum it will not take),
 * the outcome is recorded again without the notice: the reply must never cost the record. The
 * caller then publishes the reply on its own (at worst it is lost, and the waiter reads the
 * row), and a refusal of the outcome's own data still reaches it from the second try.
 */
export async function finishWithNotice(
  finish: (notice: OutcomeNotify | undefined) => Promise<boolean>,
  notice: OutcomeNotify | undefined,
): Promise<NoticedFinish> {
  if (notice === undefined) return { recorded: await finish(undefined), replied: false };
  try {
    return { recorded: await finish(notice), replied: true };
  } catch (error) {
    if (!isDataRefusal(error)) throw error;
    return { recorded: await finish(undefined), replied: false };
  }
}
