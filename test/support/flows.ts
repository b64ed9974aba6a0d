/** Flow definitions shared by the API and end-to-end tests. */

export const doubleFlow = {
  name: 'double-it',
  trigger: { type: 'webhook' },
  steps: [
    {
      id: 'calc',
      type: 'code',
      code: 'export default ({ trigger }) => ({ n: trigger.body.n * 2 })',
    },
    { id: 'reply', type: 'respond', status: 201, body: { doubled: '{{calc.n}}' } },
  ],
};

export const codeFlow = (code: string, name = 'code-only') => ({
  name,
  trigger: { type: 'webhook' },
  steps: [{ id: 'main', type: 'code', code }],
});

/** Busy-waits `ms` inside the sandbox: a flow that outlives a short webhook timeout. */
export const slowFlow = (ms: number) =>
  codeFlow(
    `export default () => { const end = Date.now() + ${ms}; while (Date.now() < end) {} return { slept: ${ms} }; }`,
    'slow',
  );

export const throwingFlow = codeFlow("export default () => { throw new Error('boom'); }", 'throws');

export const endlessFlow = codeFlow('export default () => { while (true) {} }', 'endless');
