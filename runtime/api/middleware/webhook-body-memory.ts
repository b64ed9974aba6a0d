import type { MiddlewareHandler } from 'hono';
import {
  type BodyMemoryHold,
  type createWebhookMemoryBudget,
  webhookBodyCost,
} from '../webhook-memory-budget';
import { isBehindNodeServer } from './behind-node-server';

declare module 'hono' {
  interface ContextVariableMap {
    /** The webhook's share of the body memory budget; the handler grows it once it has parsed. */
    webhookBodyMemory: BodyMemoryHold;
  }
}

/**
 * Admits a webhook against `budget` before its body is read, and holds its share until the
 * answer: a declared body by its Content-Length (one over `maxBytes` is left to the body
 * limit's 413), a chunked one as it streams. Goes before `bodyLimit`, which buffers a
 * chunked body whole.
 */
export const webhookBodyMemory = ({
  budget,
  maxBytes,
}: {
  budget: ReturnType<typeof createWebhookMemoryBudget>;
  maxBytes: number;
}): MiddlewareHandler =>
  async function webhookBodyMemory(c, next) {
    const declared = Number(c.req.header('content-length') ?? 0);
    const framed = isBehindNodeServer(c) && c.req.header('transfer-encoding') === undefined;
    const hold = budget.hold(framed && declared <= maxBytes ? webhookBodyCost(declared) : 0);
    try {
      // Only a streamed body is touched here: reading `body` makes @hono/node-server build a
      // full web Request, which a framed one (the handler reads it directly) never needs.
      const body = framed ? null : c.req.raw.body;
      if (body !== null) {
        let size = 0;
        const counted = body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              size += chunk.byteLength;
              hold.resize(webhookBodyCost(Math.min(size, maxBytes)));
              controller.enqueue(chunk);
            },
          }),
        );
        c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
      }
      c.set('webhookBodyMemory', hold);
      await next();
    } finally {
      hold.release();
    }
  };
