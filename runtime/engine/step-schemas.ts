import { z } from 'zod';
import {
  responseHeaderNameProblem,
  responseHeadersSizeProblem,
  responseHeaderValueProblem,
} from './response-headers';
import { retrySchema } from './retry-schema';
import { hasTemplate } from './template';

/** zod schemas for each step type. Cross-step rules live in `flow-references.ts`. */

const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

const stepId = z
  .string()
  .regex(STEP_ID, 'step id must start with a letter or _ and contain only letters, digits and _');

/** A value that may contain `{{path}}` templates. */
const templated = z.unknown();

const httpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The longest code step, in UTF-16 units. V8 parses a step's module on the worker's main thread
 * before the time cap starts, and some syntax is slow to check (a `v`-flag RegExp literal of
 * set operations: 13 s for 4.7 MB), so the size bounds that wait.
 */
const MAX_CODE_LENGTH = 2 ** 20;

const codeStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('code'),
  code: z
    .string()
    .min(1, 'code must not be empty')
    .max(MAX_CODE_LENGTH, `code must be at most ${MAX_CODE_LENGTH} characters`),
  retry: retrySchema.optional(),
});

const httpStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('http'),
  method: httpMethod,
  url: z
    .string()
    .refine((url) => hasTemplate(url) || isHttpUrl(url), 'url must be an http: or https: URL'),
  headers: z.record(z.string(), z.string()).optional(),
  body: templated.optional(),
  timeoutMs: z.number().int().positive().optional(),
  retry: retrySchema.optional(),
});

const branchOperator = z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists']);

const branchStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('branch'),
  if: z
    .strictObject({ left: templated, op: branchOperator, right: templated.optional() })
    .refine((condition) => condition.op === 'exists' || condition.right !== undefined, {
      path: ['right'],
      message: 'right is required unless op is exists',
    }),
  // The flow format names the arm `then`. It is an array, never a function, so a parsed step is
  // not a thenable.
  // biome-ignore lint/suspicious/noThenProperty: the field name is fixed by the flow format
  get then() {
    return z.array(stepSchema);
  },
  get else() {
    return z.array(stepSchema);
  },
});

const loopStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('loop'),
  items: z.union([z.string(), z.array(z.unknown())], {
    error: (issue) =>
      issue.input === undefined
        ? 'loop needs items: an array or a {{template}} that resolves to one'
        : 'items must be an array or a {{template}}',
  }),
  get steps() {
    return z.array(stepSchema);
  },
});

const respondStepSchema = z
  .strictObject({
    id: stepId,
    type: z.literal('respond'),
    status: z
      .union([z.number().int().min(200).max(599), z.string()], {
        error: 'status must be an integer from 200 to 599, or a {{template}}',
      })
      .optional(),
    body: templated.optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((step, ctx) => {
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(step.headers ?? {})) {
      const problem =
        responseHeaderNameProblem(name) ??
        (seen.has(name.toLowerCase()) ? `header "${name}" is given twice` : null) ??
        // A templated value is checked once it is resolved, when the run fails on a bad one.
        (hasTemplate(value) ? null : responseHeaderValueProblem(name, value));
      seen.add(name.toLowerCase());
      if (problem !== null) {
        ctx.addIssue({
          code: 'custom',
          path: ['headers', name],
          message: `respond step "${step.id}": ${problem}`,
        });
      }
    }
    // What is known when the flow is saved: names, and values that are not templates.
    const known = Object.entries(step.headers ?? {}).map(([name, value]): [string, string] => [
      name,
      hasTemplate(value) ? '' : value,
    ]);
    const size = responseHeadersSizeProblem(known);
    if (size !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers'],
        message: `respond step "${step.id}": ${size}`,
      });
    }
  });

export const stepSchema = z.discriminatedUnion(
  'type',
  [codeStepSchema, httpStepSchema, branchStepSchema, loopStepSchema, respondStepSchema],
  {
    error: (issue) => {
      if (issue.input === null || typeof issue.input !== 'object')
        return 'a step must be an object';
      const { type } = issue.input as { type?: unknown };
      return `unknown step type ${JSON.stringify(type) ?? '(none)'}; expected code, http, branch, loop or respond`;
    },
  },
);

export type Step = z.infer<typeof stepSchema>;
export type CodeStep = z.infer<typeof codeStepSchema>;
export type HttpStep = z.infer<typeof httpStepSchema>;
export type BranchStep = z.infer<typeof branchStepSchema>;
export type BranchOperator = z.infer<typeof branchOperator>;
export type LoopStep = z.infer<typeof loopStepSchema>;
export type RespondStep = z.infer<typeof respondStepSchema>;

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && ['http:', 'https:'].includes(new URL(text).protocol);
}
