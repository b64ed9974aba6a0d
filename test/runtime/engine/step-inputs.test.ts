import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowRunner, type FlowDefinition, type StepLogEntry } from '../../../runtime/engine';
import { INPUT_PREVIEW_CHARS, MAX_WHOLE_INPUT_BYTES } from '../../../runtime/engine/run-log';
import {
  branchStep,
  codeStep,
  failure,
  flowOf,
  later,
  respondStep,
  succeeded,
  triggerOf,
} from './flow-fixtures';
import { type StubServer, startStubServer } from './stub-server';

/** Each step's resolved input in its run-log entry: what a person debugging a run reads. */
const runner = createFlowRunner({ allowPrivateNetwork: true });
let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
});
afterAll(async () => {
  await stub.close();
  await runner.dispose();
});

const entry = (log: StepLogEntry[], path: string) => {
  const found = log.find((step) => step.path === path);
  if (found === undefined) throw new Error(`no log entry ${path}`);
  return found;
};

describe('step inputs in the run log', () => {
  it("records a code step's ctx: the trigger, earlier outputs and the secrets it reads", async () => {
    const flow = flowOf([
      codeStep('first', 'export default ({ trigger }) => trigger.body.n + 1'),
      codeStep('second', 'export default ({ first, secrets }) => first * 2 + secrets.K.length'),
    ]);
    const outcome = succeeded(
      await runner.run(flow, triggerOf({ n: 20 }), {
        ...later(),
        secrets: new Map([['K', 'kkkk-value']]),
      }),
    );
    expect(entry(outcome.log, 'second').input).toEqual({
      trigger: { body: { n: 20 }, headers: {}, query: {} },
      secrets: { K: '[secret:K]' },
      first: 21,
    });
    expect(JSON.stringify(outcome.log)).not.toContain('kkkk-value');
  });

  it("records an http step's resolved request, with a secret header redacted", async () => {
    const flow = flowOf([
      {
        id: 'call',
        type: 'http',
        method: 'POST',
        url: `${stub.origin}/hook?n={{trigger.body.n}}`,
        headers: { authorization: 'Bearer {{secrets.TOKEN}}' },
        body: { n: '{{trigger.body.n}}', note: 'x' },
      },
    ]);
    const outcome = succeeded(
      await runner.run(flow, triggerOf({ n: 7 }), {
        ...later(),
        secrets: new Map([['TOKEN', 'tok-123456789']]),
      }),
    );
    expect(entry(outcome.log, 'call').input).toEqual({
      method: 'POST',
      url: `${stub.origin}/hook?n=7`,
      headers: { authorization: 'Bearer [secret:TOKEN]' },
      body: { n: 7, note: 'x' },
    });
    // What went out is the same body, serialised once for both.
    expect(stub.received.at(-1)?.body).toBe('{"n":7,"note":"x"}');
    expect(stub.received.at(-1)?.headers.authorization).toBe('Bearer tok-123456789');
    expect(JSON.stringify(outcome.log)).not.toContain('tok-123456789');
  });

  it("records a branch's evaluated condition and a loop's items", async () => {
    const flow = flowOf([
      branchStep('big', { left: '{{trigger.body.n}}', op: 'gt', right: 10 }, [
        { id: 'each', type: 'loop', items: '{{trigger.body.items}}', steps: [] },
      ]),
    ]);
    const outcome = succeeded(
      await runner.run(flow, triggerOf({ n: 11, items: ['a', 'b'] }), later()),
    );
    expect(entry(outcome.log, 'big').input).toEqual({ left: 11, op: 'gt', right: 10 });
    expect(entry(outcome.log, 'big.then.each').input).toEqual(['a', 'b']);
  });

  it("records a respond step's resolved status, body and headers", async () => {
    const flow = flowOf([
      respondStep({
        status: 201,
        body: { n: '{{trigger.body.n}}' },
        headers: { 'x-n': '{{trigger.body.n}}' },
      }),
    ]);
    const outcome = succeeded(await runner.run(flow, triggerOf({ n: 3 }), later()));
    expect(entry(outcome.log, 'reply').input).toEqual({
      status: 201,
      body: { n: 3 },
      headers: { 'x-n': '3' },
    });
  });

  it('keeps the input of a step that failed after resolving it', async () => {
    const flow = flowOf([
      branchStep('cmp', { left: '{{trigger.body.n}}', op: 'gt', right: 'ten' }, []),
    ]);
    const outcome = failure(await runner.run(flow, triggerOf({ n: 5 }), later()));
    expect(entry(outcome.log, 'cmp')).toMatchObject({
      status: 'failed',
      input: { left: 5, op: 'gt', right: 'ten' },
      error: expect.stringContaining('needs two numbers or two strings'),
    });

    const thrown = failure(
      await runner.run(
        flowOf([codeStep('boom', "export default () => { throw new Error('kaput') }")]),
        triggerOf({ why: 'test' }),
        later(),
      ),
    );
    expect(entry(thrown.log, 'boom').input).toEqual({
      trigger: { body: { why: 'test' }, headers: {}, query: {} },
    });
  });

  it('has no input for a step that failed before resolving it', async () => {
    const flow = flowOf([
      { id: 'each', type: 'loop', items: '{{trigger.body.missing.deeper}}', steps: [] },
    ]);
    const outcome = failure(await runner.run(flow, triggerOf({}), later()));
    expect(outcome.log[0]).not.toHaveProperty('input');
  });

  it('folds an input over the per-step size to a redacted preview and its size', async () => {
    const secret = 'S'.repeat(40);
    // The secret straddles the preview's cut: it is replaced before the cut, never halved.
    const pad = 'p'.repeat(INPUT_PREVIEW_CHARS - 30);
    const items = [pad, secret, 'z'.repeat(MAX_WHOLE_INPUT_BYTES)];
    const flow = flowOf([
      codeStep('read', 'export default ({ secrets }) => secrets.BIG.length'),
      { id: 'each', type: 'loop', items: '{{trigger.body}}', steps: [] },
    ]);
    const outcome = succeeded(
      await runner.run(flow, triggerOf(items), {
        ...later(),
        secrets: new Map([['BIG', secret]]),
      }),
    );
    const each = entry(outcome.log, 'each');
    expect(each).not.toHaveProperty('input');
    const bytes = JSON.stringify(items).length;
    expect(each.inputTruncated).toEqual({ bytes, items: 3, preview: expect.any(String) });
    const preview = each.inputTruncated?.preview ?? '';
    expect(preview.length).toBeLessThanOrEqual(INPUT_PREVIEW_CHARS + 1);
    expect(preview.endsWith('…')).toBe(true);
    expect(preview).toContain('[secret:BIG]');
    expect(preview).not.toContain('SSSS');
  });
});

describe('inputs and maxRunLogBytes', () => {
  // Every body step reads a ctx of about 10 KB (the trigger), far more than its output.
  const flow: FlowDefinition = flowOf([
    {
      id: 'each',
      type: 'loop',
      items: '{{trigger.body.items}}',
      steps: [codeStep('double', 'export default ({ each }) => each.item * 2')],
    },
  ]);
  const trigger = triggerOf({
    items: Array.from({ length: 40 }, (_, i) => i),
    pad: 'x'.repeat(10_000),
  });
  const withoutInputs = (log: StepLogEntry[]) =>
    log.map(({ input: _input, inputTruncated: _truncated, ...rest }) => rest);

  it('never fails a run that fits without inputs: older inputs give way to outputs', async () => {
    const roomy = succeeded(await runner.run(flow, trigger, later()));
    const resultsBytes = JSON.stringify(withoutInputs(roomy.log)).length;
    expect(JSON.stringify(roomy.log).length).toBeGreaterThan(resultsBytes * 10);

    // Room for the results and two or three whole inputs: the first are kept whole, and the
    // oldest gives way as outputs come.
    const roomFor = async (cap: number) => {
      const tight = createFlowRunner({ maxRunLogBytes: cap });
      try {
        const outcome = succeeded(await tight.run(flow, trigger, later()));
        expect(JSON.stringify(outcome.log).length).toBeLessThanOrEqual(cap);
        expect(outcome.log.map((step) => step.output)).toEqual(
          roomy.log.map((step) => step.output),
        );
        return outcome.log;
      } finally {
        await tight.dispose();
      }
    };
    const someRoom = await roomFor(resultsBytes + 25_000);
    expect(someRoom[0]).not.toHaveProperty('input');
    expect(someRoom[0]?.inputTruncated).toEqual({
      bytes: JSON.stringify(roomy.log[0]?.input).length,
    });
    expect(someRoom[1]?.input).toEqual(roomy.log[1]?.input);

    // Room for the results alone (durations may print a digit longer): every input gives way.
    const noRoom = await roomFor(resultsBytes + 300);
    expect(noRoom.filter((step) => 'input' in step)).toEqual([]);
  });

  it('still fails the run when the outputs alone pass the cap', async () => {
    const roomy = succeeded(await runner.run(flow, trigger, later()));
    const resultsBytes = JSON.stringify(withoutInputs(roomy.log)).length;
    const tight = createFlowRunner({ maxRunLogBytes: resultsBytes - 200 });
    try {
      const outcome = failure(await tight.run(flow, trigger, later()));
      expect(outcome.status).toBe('limit_exceeded');
      expect(outcome.error).toContain('maxRunLogBytes');
    } finally {
      await tight.dispose();
    }
  });
});
