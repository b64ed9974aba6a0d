import { describe, expect, it } from 'vitest';
import { flowDefinitionSchema, parseFlowDefinition } from '../../../runtime/engine';
import { branchStep } from './flow-fixtures';

const definition = (steps: unknown[]) => ({
  name: 'test-flow',
  trigger: { type: 'webhook' },
  steps,
});

function issuesOf(steps: unknown[]) {
  const parsed = parseFlowDefinition(definition(steps));
  if (parsed.ok) throw new Error('expected the definition to be invalid');
  return parsed.issues;
}

const code = (id: string) => ({ id, type: 'code', code: 'export default () => 1' });

describe('parseFlowDefinition', () => {
  it('accepts the flow from the design document', () => {
    const parsed = parseFlowDefinition(
      definition([
        {
          id: 'calc',
          type: 'code',
          code: 'export default ({ trigger }) => ({ n: trigger.body.n * 2 })',
        },
        branchStep('big', { left: '{{calc.n}}', op: 'gt', right: 10 }, [
          {
            id: 'notify',
            type: 'http',
            method: 'POST',
            url: 'https://example.com/hook',
            body: { n: '{{calc.n}}' },
          },
        ]),
        {
          id: 'each',
          type: 'loop',
          items: '{{trigger.body.items}}',
          steps: [{ id: 'double', type: 'respond', body: '{{each.item}}' }],
        },
        { id: 'reply', type: 'respond', status: 200, body: { doubled: '{{calc.n}}' } },
      ]),
    );
    expect(parsed.ok).toBe(true);
  });

  it('reports an unknown step type at steps[i].type', () => {
    const issues = issuesOf([code('a'), { id: 'b', type: 'email' }]);
    expect(issues).toEqual([
      { path: 'steps[1].type', message: expect.stringContaining('unknown step type "email"') },
    ]);
  });

  it('reports a duplicate id at the second use, nested steps included', () => {
    const issues = issuesOf([
      code('a'),
      { id: 'each', type: 'loop', items: [1], steps: [code('a')] },
      code('each'),
    ]);
    expect(issues).toEqual([
      {
        path: 'steps[1].steps[0].id',
        message: 'duplicate step id "a" (first used at steps[0].id)',
      },
      { path: 'steps[2].id', message: 'duplicate step id "each" (first used at steps[1].id)' },
    ]);
  });

  it('reserves the id trigger', () => {
    expect(issuesOf([code('trigger')])).toEqual([
      { path: 'steps[0].id', message: 'step id "trigger" is reserved for the trigger' },
    ]);
  });

  it.each(['1st', 'a-b', 'a.b', ''])('refuses the step id %j', (id) => {
    expect(issuesOf([code(id)]).map((issue) => issue.path)).toEqual(['steps[0].id']);
  });

  it('reports a template naming a later step at the field path', () => {
    const issues = issuesOf([
      { id: 'call', type: 'http', method: 'GET', url: 'https://example.com/{{calc.n}}' },
      code('calc'),
    ]);
    expect(issues).toEqual([
      {
        path: 'steps[0].url',
        message: 'template {{calc.n}} names step "calc", which has not run at this point',
      },
    ]);
  });

  it('reports a template naming an unknown step at the nested field path', () => {
    const issues = issuesOf([{ id: 'reply', type: 'respond', body: { a: ['x', '{{nope.x}}'] } }]);
    expect(issues).toEqual([
      { path: 'steps[0].body.a[1]', message: 'template {{nope.x}} names unknown step "nope"' },
    ]);
  });

  it('reports a step that reads its own output', () => {
    const issues = issuesOf([{ id: 'reply', type: 'respond', body: '{{reply.body}}' }]);
    expect(issues.map((issue) => issue.path)).toEqual(['steps[0].body']);
  });

  it('reports a loop without items at steps[i].items', () => {
    const issues = issuesOf([{ id: 'each', type: 'loop', steps: [] }]);
    expect(issues).toEqual([{ path: 'steps[0].items', message: expect.stringContaining('items') }]);
  });

  it('refuses loop items that are text rather than one template', () => {
    const issues = issuesOf([{ id: 'each', type: 'loop', items: 'a {{trigger.body}}', steps: [] }]);
    expect(issues.map((issue) => issue.path)).toEqual(['steps[0].items']);
  });

  it('lets a loop body read the loop id but not the loop body after the loop', () => {
    expect(
      parseFlowDefinition(
        definition([
          {
            id: 'each',
            type: 'loop',
            items: '{{trigger.body}}',
            steps: [{ id: 'inner', type: 'respond', body: '{{each.item}}' }],
          },
          { id: 'after', type: 'respond', body: '{{each}}' },
        ]),
      ).ok,
    ).toBe(true);
    const issues = issuesOf([
      { id: 'each', type: 'loop', items: '{{trigger.body}}', steps: [code('inner')] },
      { id: 'after', type: 'respond', body: '{{inner}}' },
    ]);
    expect(issues.map((issue) => issue.path)).toEqual(['steps[1].body']);
  });

  it('lets steps after a branch read the steps of its arms', () => {
    const parsed = parseFlowDefinition(
      definition([
        branchStep('big', { left: 1, op: 'exists' }, [code('t')]),
        { id: 'after', type: 'respond', body: '{{t}}' },
      ]),
    );
    expect(parsed.ok).toBe(true);
  });

  it('refuses a template on a trigger field that does not exist', () => {
    expect(issuesOf([{ id: 'r', type: 'respond', body: '{{trigger.bodyy.x}}' }])).toEqual([
      {
        path: 'steps[0].body',
        message:
          'template {{trigger.bodyy.x}}: the trigger has only body, headers and query (webhook) or type, scheduledAt and firedAt (schedule)',
      },
    ]);
  });

  it('refuses a template whose path cannot be read', () => {
    expect(issuesOf([{ id: 'r', type: 'respond', body: '{{ calc..n }}' }])).toEqual([
      { path: 'steps[0].body', message: expect.stringContaining('invalid template') },
    ]);
  });

  it('refuses a literal url that is not http or https', () => {
    const issues = issuesOf([{ id: 'h', type: 'http', method: 'GET', url: 'file:///etc/passwd' }]);
    expect(issues).toEqual([
      { path: 'steps[0].url', message: 'url must be an http: or https: URL' },
    ]);
  });

  it('refuses unknown fields on a step', () => {
    const issues = issuesOf([{ ...code('a'), timeout: 5 }]);
    expect(issues.map((issue) => issue.path)).toEqual(['steps[0]']);
  });

  it('requires a right-hand side for operators other than exists', () => {
    expect(issuesOf([branchStep('b', { left: 1, op: 'eq' }, [])])).toEqual([
      { path: 'steps[0].if.right', message: 'right is required unless op is exists' },
    ]);
  });

  it('refuses an unknown branch operator', () => {
    const issues = issuesOf([branchStep('b', { left: 1, op: 'like', right: 1 }, [])]);
    expect(issues.map((issue) => issue.path)).toEqual(['steps[0].if.op']);
  });

  it('refuses a trigger other than webhook', () => {
    const parsed = parseFlowDefinition({ name: 'x', trigger: { type: 'cron' }, steps: [] });
    expect(parsed.ok ? [] : parsed.issues.map((issue) => issue.path)).toEqual(['trigger.type']);
  });

  it('exposes the zod schema with issue paths as arrays', () => {
    const result = flowDefinitionSchema.safeParse(
      definition([code('a'), { id: 'b', type: 'nope' }]),
    );
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['steps', 1, 'type']);
  });
});
