import { afterAll, expect, it } from 'vitest';
import { createFlowRunner } from '../../../runtime/engine';
import { flowOf, triggerOf } from './flow-fixtures';

const RUNS = 1000;

const standardFlow = flowOf([
  {
    id: 'calc',
    type: 'code',
    code: 'export default ({ trigger }) => ({ sum: trigger.body.a + trigger.body.b })',
  },
  { id: 'reply', type: 'respond', body: { sum: '{{calc.sum}}' } },
]);

const runner = createFlowRunner();
afterAll(() => runner.dispose());

it(`runs the standard flow (code a+b, respond) ${RUNS} times in a few seconds`, async () => {
  const trigger = triggerOf({ a: 20, b: 22 });
  for (let i = 0; i < 50; i++)
    await runner.run(standardFlow, trigger, { deadline: Date.now() + 10_000 });
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) {
    const outcome = await runner.run(standardFlow, trigger, { deadline: Date.now() + 10_000 });
    if (outcome.status !== 'succeeded')
      throw new Error(`run ${i} ${outcome.status}: ${outcome.error}`);
  }
  const elapsedMs = performance.now() - started;
  console.log(
    `standard flow: ${RUNS} runs in ${elapsedMs.toFixed(0)} ms (${((RUNS / elapsedMs) * 1000).toFixed(0)} runs/s)`,
  );
  // A loose bound: it catches a regression such as a new isolate per run, not noise.
  expect(elapsedMs).toBeLessThan(8000);
});
