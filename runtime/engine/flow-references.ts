import { formatJsonPath } from './json-path';
import { secretRefProblem } from './secret-ref';
import type { Step } from './step-schemas';
import { forEachTemplateRef, parseTemplate } from './template';
import type { PathSegment } from './template-path';

/**
 * Rules that span steps: ids are unique across the whole flow and `trigger` is reserved, and
 * every template names `trigger` or a step that has run by then.
 *
 * Visibility follows execution order. A loop's body sees the loop id (as `{ item, index }`) and
 * its own earlier steps; after the loop only the loop's output is visible. Steps inside a
 * branch arm are visible after the branch; if that arm did not run the path is missing at run time.
 */

export interface ReferenceIssue {
  path: PathSegment[];
  message: string;
}

// A webhook's trigger has body, headers and query; a schedule's type, scheduledAt and firedAt.
const TRIGGER_FIELDS = new Set(['body', 'headers', 'query', 'type', 'scheduledAt', 'firedAt']);
/** Template roots that are not steps: the trigger, and the project's secrets. */
const RESERVED_ROOTS = new Set(['trigger', 'secrets']);

export function checkStepReferences(steps: readonly Step[]): ReferenceIssue[] {
  const issues: ReferenceIssue[] = [];
  const allIds = collectIds(steps, ['steps'], issues);
  checkBlock(steps, ['steps'], new Set(), allIds, issues);
  return issues;
}

function collectIds(
  steps: readonly Step[],
  blockPath: PathSegment[],
  issues: ReferenceIssue[],
  firstSeen = new Map<string, string>(),
): Map<string, string> {
  steps.forEach((step, index) => {
    const stepPath = [...blockPath, index];
    const idPath = [...stepPath, 'id'];
    if (RESERVED_ROOTS.has(step.id)) {
      issues.push({
        path: idPath,
        message: `step id "${step.id}" is reserved for the ${step.id === 'trigger' ? 'trigger' : "project's secrets"}`,
      });
    } else if (firstSeen.has(step.id)) {
      issues.push({
        path: idPath,
        message: `duplicate step id "${step.id}" (first used at ${firstSeen.get(step.id)})`,
      });
    } else {
      firstSeen.set(step.id, formatJsonPath(idPath));
    }
    for (const [key, nested] of nestedBlocks(step)) {
      collectIds(nested, [...stepPath, key], issues, firstSeen);
    }
  });
  return firstSeen;
}

/** Checks a block in execution order; returns the ids visible after it. */
function checkBlock(
  steps: readonly Step[],
  blockPath: PathSegment[],
  visibleBefore: ReadonlySet<string>,
  allIds: ReadonlyMap<string, string>,
  issues: ReferenceIssue[],
): Set<string> {
  const visible = new Set(visibleBefore);
  steps.forEach((step, index) => {
    const stepPath = [...blockPath, index];
    checkTemplatedFields(step, stepPath, visible, allIds, issues);
    if (step.type === 'loop') {
      checkSingleTemplate(step.items, [...stepPath, 'items'], issues);
      const bodyScope = new Set(visible).add(step.id);
      checkBlock(step.steps, [...stepPath, 'steps'], bodyScope, allIds, issues);
    } else if (step.type === 'branch') {
      const afterThen = checkBlock(step.then, [...stepPath, 'then'], visible, allIds, issues);
      const afterElse = checkBlock(step.else, [...stepPath, 'else'], visible, allIds, issues);
      for (const id of [...afterThen, ...afterElse]) visible.add(id);
    } else if (step.type === 'respond') {
      checkSingleTemplate(step.status, [...stepPath, 'status'], issues);
    }
    visible.add(step.id);
  });
  return visible;
}

function checkTemplatedFields(
  step: Step,
  stepPath: PathSegment[],
  visible: ReadonlySet<string>,
  allIds: ReadonlyMap<string, string>,
  issues: ReferenceIssue[],
): void {
  for (const [field, value] of templatedFields(step)) {
    forEachTemplateRef(
      value,
      [...stepPath, ...field],
      (ref, fieldPath) => {
        const [root, second] = ref.segments;
        if (root === 'trigger') {
          if (second !== undefined && !TRIGGER_FIELDS.has(String(second))) {
            issues.push({
              path: [...fieldPath],
              message: `template ${ref.source}: the trigger has only body, headers and query (webhook) or type, scheduledAt and firedAt (schedule)`,
            });
          }
          return;
        }
        if (root === 'secrets') {
          const problem = secretRefProblem(ref.segments);
          if (problem !== null)
            issues.push({ path: [...fieldPath], message: `template ${ref.source}: ${problem}` });
          return;
        }
        const rootId = String(root);
        if (visible.has(rootId)) return;
        const message = allIds.has(rootId)
          ? `template ${ref.source} names step "${rootId}", which has not run at this point`
          : `template ${ref.source} names unknown step "${rootId}"`;
        issues.push({ path: [...fieldPath], message });
      },
      (message, fieldPath) => issues.push({ path: [...fieldPath], message }),
    );
  }
}

/** Fields whose strings are templates, as [field path, value]. Code is never templated. */
export function templatedFields(step: Step): [PathSegment[], unknown][] {
  switch (step.type) {
    case 'code':
      return [];
    case 'http':
      return [
        [['url'], step.url],
        [['headers'], step.headers],
        [['body'], step.body],
      ];
    case 'branch':
      return [
        [['if', 'left'], step.if.left],
        [['if', 'right'], step.if.right],
      ];
    case 'loop':
      return [[['items'], step.items]];
    case 'respond':
      return [
        [['status'], step.status],
        [['body'], step.body],
        [['headers'], step.headers],
      ];
  }
}

export function nestedBlocks(step: Step): [string, readonly Step[]][] {
  if (step.type === 'loop') return [['steps', step.steps]];
  if (step.type === 'branch') {
    return [
      ['then', step.then],
      ['else', step.else],
    ];
  }
  return [];
}

/** A string where a non-string value is expected must be exactly one template. */
function checkSingleTemplate(value: unknown, path: PathSegment[], issues: ReferenceIssue[]): void {
  if (typeof value !== 'string') return;
  let isSingleRef = false;
  try {
    isSingleRef = parseTemplate(value).isSingleRef;
  } catch {
    return; // already reported by the template check
  }
  if (!isSingleRef) {
    issues.push({
      path,
      message: `${String(path.at(-1))} must be a value or a single {{template}}`,
    });
  }
}
