import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchStep } from '../runtime/engine/flow-fixtures';
import { type LoopbackServer, serveOnLoopback } from '../support/loopback-server';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A flow definition is checked on the APP's event loop, which every project's webhooks share.
 * Checking which steps a template may name copied the set of ids seen so far for each loop and
 * branch arm, so a definition of n of them cost n²: 16,000 empty branches (1.3 MB) took 12 s,
 * and one within the 5 MiB body limit held every other request for 4 minutes. Checking must
 * grow with the definition's size. 2 MiB keeps a regression's failure to about a minute (the
 * APP runs in this process, so its blocked event loop holds the test's own timeout too).
 */
const DEFINITION_BYTES = 2 * 1024 * 1024;
/** Far above the linear cost (under a second; CI runs many files at once), far below the quadratic one (30 s or more). */
const ANSWER_WITHIN_MS = 10_000;

let stack: TestStack;
let server: LoopbackServer;

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  server = await serveOnLoopback(stack.api.fetch);
});
afterAll(async () => {
  await server?.close();
  await stack?.close();
});

/** `{name, trigger, steps}` of as many steps made by `step` as fit in `bytes`. */
function definitionOf(bytes: number, step: (i: number) => unknown) {
  const steps: unknown[] = [];
  let size = 100;
  for (let i = 0; size < bytes; i++) {
    const next = step(i);
    size += JSON.stringify(next).length + 1;
    if (size < bytes) steps.push(next);
  }
  return { name: 'wide', trigger: { type: 'webhook' }, steps };
}

async function timedCreate(definition: unknown) {
  const body = JSON.stringify(definition);
  const started = performance.now();
  const res = await fetch(`${server.base}/v1/flows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

describe('a flow definition whose checking cost outgrows its size', () => {
  it.each([
    ['branches', (i: number) => branchStep(`b${i}`, { left: 1, op: 'exists' }, [])],
    ['loops', (i: number) => ({ id: `l${i}`, type: 'loop', items: [], steps: [] })],
  ])(
    'checks a 2 MiB definition of empty %s in linear time',
    async (_kind, step) => {
      const answer = await timedCreate(definitionOf(DEFINITION_BYTES, step));
      expect(answer.status).toBe(201);
      expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
    },
    120_000,
  );

  it('takes a branch arm of more steps than a call can take arguments', async () => {
    const arm = definitionOf(4.9 * 1024 * 1024, (i) => ({ id: `r${i}`, type: 'respond' })).steps;
    expect(arm.length).toBeGreaterThan(140_000);
    const definition = {
      name: 'long-arm',
      trigger: { type: 'webhook' },
      steps: [branchStep('pick', { left: 1, op: 'exists' }, arm)],
    };
    expect((await timedCreate(definition)).status).toBe(201);
  });

  it('still scopes a loop body and each branch arm as they run', async () => {
    const res = await fetch(`${server.base}/v1/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'scopes',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'each',
            type: 'loop',
            items: [1],
            steps: [{ id: 'inner', type: 'respond', body: '{{each.item}}' }],
          },
          branchStep(
            'pick',
            { left: 1, op: 'exists' },
            [{ id: 'yes', type: 'respond', body: '{{each}}' }],
            [{ id: 'no', type: 'respond', body: ['{{inner}}', '{{yes}}'] }],
          ),
          { id: 'after', type: 'respond', body: ['{{each}}', '{{yes}}', '{{no}}'] },
        ],
      }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { details: { path: string; message: string }[] };
    };
    // A loop body's steps are out of sight after the loop, one arm's in the other; after the
    // branch both arms' are known.
    expect(error.details).toEqual([
      {
        path: 'steps[1].else[0].body[0]',
        message: 'template {{inner}} names step "inner", which has not run at this point',
      },
      {
        path: 'steps[1].else[0].body[1]',
        message: 'template {{yes}} names step "yes", which has not run at this point',
      },
    ]);
  });
});
