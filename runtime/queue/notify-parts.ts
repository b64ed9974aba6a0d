/**
 * A sync reply too large for one NOTIFY (PostgreSQL refuses payloads of 8000 bytes or more),
 * cut into parts that each fit, sent in one statement and put back together by the listener.
 * The reply is only ever in flight: the run row keeps the redacted, storable outcome, while
 * a respond step's reply (its secret, its exact text, its headers) travels whole this way.
 */

/** One part's NOTIFY payload, as JSON. */
export interface ReplyPart {
  runId: string;
  part: number;
  parts: number;
  text: string;
}

/** NOTIFY refuses payloads of 8000 bytes or more; leave room for the encoding. */
export const MAX_NOTIFY_BYTES = 7900;
/**
 * Above this many parts (about 30 MB of notifications) the reply is not sent whole: the
 * caller reads the run row instead, rather than filling PostgreSQL's notification queue.
 */
const MAX_REPLY_PARTS = 4096;

/** The NOTIFY payloads of `json`, a reply of run `runId`; null when it needs too many. */
export function replyParts(runId: string, json: string): string[] | null {
  const envelope = JSON.stringify({
    runId,
    part: MAX_REPLY_PARTS,
    parts: MAX_REPLY_PARTS,
    text: '',
  });
  // The reply's JSON has no raw control character and no lone surrogate (a pair is never cut
  // below), so each UTF-16 unit of it takes at most 3 bytes in a part: a BMP character, or
  // `"` and `\` escaped again.
  const units = Math.floor((MAX_NOTIFY_BYTES - Buffer.byteLength(envelope)) / 3);
  const texts: string[] = [];
  for (let at = 0; at < json.length; ) {
    let end = Math.min(at + units, json.length);
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--;
    texts.push(json.slice(at, end));
    at = end;
    if (texts.length > MAX_REPLY_PARTS) return null;
  }
  return texts.map((text, part) =>
    JSON.stringify({ runId, part, parts: texts.length, text } satisfies ReplyPart),
  );
}

/**
 * Puts parts back together, only for runs someone waits for. Parts of one reply are sent by
 * one statement, so they arrive together and in order; a session lost mid-reply leaves an
 * incomplete one, which `clear` drops.
 */
export function createReplyAssembly(isAwaited: (runId: string) => boolean) {
  const pending = new Map<string, string[]>();
  return {
    /** The whole reply's JSON once its last part is in, else undefined. */
    add({ runId, part, parts, text }: ReplyPart): string | undefined {
      const texts = part === 0 ? [] : pending.get(runId);
      pending.delete(runId);
      // A part out of turn (the rest of a reply cut short by a lost session) is dropped.
      if (!isAwaited(runId) || texts?.length !== part) return undefined;
      texts.push(text);
      if (texts.length === parts) return texts.join('');
      pending.set(runId, texts);
      return undefined;
    },
    clear() {
      pending.clear();
    },
  };
}
