import { z } from 'zod';
import { checkStepReferences } from './flow-references';
import { formatJsonPath } from './json-path';
import { stepSchema } from './step-schemas';
import { triggerSchema } from './trigger-schema';

/**
 * The flow definition: a trigger (webhook or schedule) and a tree of steps. Structural rules live in the step
 * schemas; rules that span steps (unique ids, templates naming earlier steps) in
 * `checkStepReferences`. Issues carry the JSON path of the offending field.
 */
export const flowDefinitionSchema = z
  .object({
    name: z.string().min(1).max(200),
    trigger: triggerSchema,
    steps: z.array(stepSchema),
  })
  .superRefine((definition, ctx) => {
    for (const issue of checkStepReferences(definition.steps)) {
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  });

export type FlowDefinition = z.infer<typeof flowDefinitionSchema>;

export interface FlowDefinitionIssue {
  /** JSON path of the offending field, such as `steps[1].type`; empty for the whole definition. */
  path: string;
  message: string;
}

export type ParseFlowDefinitionResult =
  | { ok: true; value: FlowDefinition }
  | { ok: false; issues: FlowDefinitionIssue[] };

/** Validates a flow definition and reports every issue with a readable path. */
export function parseFlowDefinition(input: unknown): ParseFlowDefinitionResult {
  const result = flowDefinitionSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      path: formatJsonPath(issue.path),
      message: issue.message,
    })),
  };
}
