import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStepDetails } from '../../../runtime/console/step-details';
import { createFlowRunner } from '../../../runtime/engine';
import { MAX_WHOLE_INPUT_BYTES } from '../../../runtime/engine/run-log';
import { storageKey } from '../../../runtime/storage/keys';
import {
  createLocalFileStore,
  type LocalFileStore,
} from '../../../runtime/storage/local-file-store';
import { codeStep, flowOf, later, triggerOf } from '../engine/flow-fixtures';

/** The Run page's reading of a run log: each step's input and output by its path. */
let dir: string;
let store: LocalFileStore;
const runner = createFlowRunner();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-step-details-'));
  store = createLocalFileStore({
    dir,
    publicBaseUrl: 'http://127.0.0.1:1',
    signingSecret: 'a-signing-secret-for-tests-only-0123',
  });
});
afterAll(async () => {
  await runner.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Stores `log` as the worker writes a run log, and returns its key. */
async function storedLog(log: unknown): Promise<string> {
  const key = storageKey(randomUUID(), 'RUN_LOG', randomUUID());
  await store.put(key, JSON.stringify({ runId: 'r', attempt: 1, status: 'succeeded', log }));
  return key;
}

/** Reads the log as the Run page does for a log in storage. */
const fromStore = (key: string) => async () => Buffer.from(await store.get(key)).toString('utf8');

describe('reading step details from a run log', () => {
  it("gives each step's input and output by path, from a log the engine made", async () => {
    const big = ['y'.repeat(MAX_WHOLE_INPUT_BYTES)];
    const flow = flowOf([
      codeStep('double', 'export default ({ trigger }) => trigger.body.n * 2'),
      { id: 'each', type: 'loop', items: big, steps: [] },
    ]);
    const outcome = await runner.run(flow, triggerOf({ n: 21 }), later());
    const details = await readStepDetails(fromStore(await storedLog(outcome.log)));

    expect(details?.get('double')).toEqual({
      input: { value: { trigger: { body: { n: 21 }, headers: {}, query: {} } } },
      output: { value: 42 },
    });
    expect(details?.get('each')).toEqual({
      inputTruncated: {
        bytes: JSON.stringify(big).length,
        items: 1,
        preview: expect.stringMatching(/^\["yyy+…$/),
      },
      output: { value: [null] },
    });
  });

  it('keeps a null input and output apart from none', async () => {
    const details = await readStepDetails(
      fromStore(
        await storedLog([
          { stepId: 'a', path: 'a', input: null, output: null },
          { stepId: 'b', path: 'b', error: 'boom' },
        ]),
      ),
    );
    expect(details?.get('a')).toEqual({ input: { value: null }, output: { value: null } });
    expect(details?.get('b')).toEqual({});
  });

  it('leaves out a marker that is not the engine’s shape', async () => {
    const details = await readStepDetails(
      fromStore(
        await storedLog([{ path: 'a', inputTruncated: { bytes: 'many', preview: '<b>' } }]),
      ),
    );
    expect(details?.get('a')).toEqual({});
  });

  it('answers null when there is no log to read', async () => {
    expect(
      await readStepDetails(fromStore(storageKey(randomUUID(), 'RUN_LOG', randomUUID()))),
    ).toBe(null);
  });
});
