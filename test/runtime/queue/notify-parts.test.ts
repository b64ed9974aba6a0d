import { describe, expect, it } from 'vitest';
import {
  createReplyAssembly,
  MAX_NOTIFY_BYTES,
  type ReplyPart,
  replyParts,
} from '../../../runtime/queue/notify-parts';

const runId = '5f0c8e52-3b7a-4c1e-9d2f-0a1b2c3d4e5f';

describe('reply parts', () => {
  it.each([
    ['three-byte characters', '€'.repeat(40_000)],
    ['quotes and backslashes', '"\\'.repeat(40_000)],
    ['surrogate pairs on every cut', `x${'😀'.repeat(40_000)}`],
    ['escaped control characters', '\u0000\u001f'.repeat(40_000)],
  ])('keep each NOTIFY under its limit and put %s back exactly', (_name, text) => {
    const json = JSON.stringify({ runId, status: 'succeeded', body: text });
    const parts = replyParts(runId, json);
    expect(parts?.length).toBeGreaterThan(1);
    for (const part of parts ?? [])
      expect(Buffer.byteLength(part)).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
    const assembly = createReplyAssembly(() => true);
    const wholes = (parts ?? []).map((part) => assembly.add(JSON.parse(part) as ReplyPart));
    expect(wholes.slice(0, -1).every((whole) => whole === undefined)).toBe(true);
    expect(wholes.at(-1)).toBe(json);
  });

  it('drops a reply cut short, and one nobody waits for', () => {
    const json = JSON.stringify({ runId, body: 'x'.repeat(30_000) });
    const parts = (replyParts(runId, json) ?? []).map((part) => JSON.parse(part) as ReplyPart);
    const assembly = createReplyAssembly(() => true);
    // The first reply lost its tail; the next one, sent whole, still comes through.
    assembly.add(parts[0] as ReplyPart);
    expect(parts.map((part) => assembly.add(part)).at(-1)).toBe(json);
    expect(assembly.add(parts[1] as ReplyPart)).toBeUndefined();
    const unawaited = createReplyAssembly(() => false);
    expect(parts.map((part) => unawaited.add(part)).every((whole) => whole === undefined)).toBe(
      true,
    );
  });
});
