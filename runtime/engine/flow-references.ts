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

/**
 * Checks a block in execution order against `visible`, the ids that have run by then, and
 * leaves in it the ids visible after the block; returns those it added. One set is changed in
 * place and a nested block's ids taken out again after it, never copied per block: a copy per
 * loop or branch made checking a flow of n of them cost n² (a 5 MB definition held the
 * APP's event loop for minutes).
 */
function checkBlock(
  steps: readonly Step[],
  blockPath: PathSegment[],
  visible: Set<string>,
  allIds: ReadonlyMap<string, string>,
  issues: ReferenceIssue[],
): string[] {
  const added: string[] = [];
  steps.forEach((step, index) => {
    const stepPath = [...blockPath, index];
    checkTemplatedFields(step, stepPath, visible, allIds, issues);
    if (step.type === 'loop') {
      checkSingleTemplate(step.items, [...stepPath, 'items'], issues);
      const loopId = addAll(visible, [step.id]);
      const body = checkBlock(step.steps, [...stepPath, 'steps'], visible, allIds, issues);
      deleteAll(visible, body);
      deleteAll(visible, loopId);
    } else if (step.type === 'branch') {
      const afterThen = checkBlock(step.then, [...stepPath, 'then'], visible, allIds, issues);
      deleteAll(visible, afterThen);
      const afterElse = checkBlock(step.else, [...stepPath, 'else'], visible, allIds, issues);
      deleteAll(visible, afterElse);
      addAll(visible, afterThen, added);
      addAll(visible, afterElse, added);
    } else if (step.type === 'respond') {
      checkSingleTemplate(step.status, [...stepPath, 'status'], issues);
    }
    addAll(visible, [step.id], added);
  });
  return added;
}

/**
 * Adds `ids` to `set`, and those it did not hold before to `added` (pushed one by one: an arm
 * can hold more ids than a spread may pass as arguments).
 */
function addAll(set: Set<string>, ids: readonly string[], added: string[] = []): string[] {
  for (const id of ids) {
    if (set.has(id)) continue;
    set.add(id);
    added.push(id);
  }
  return added;
}

function deleteAll(set: Set<string>, ids: readonly string[]): void {
  for (const id of ids) set.delete(id);
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
