import { nestedBlocks, templatedFields } from './flow-references';
import type { FlowDefinition } from './flow-schema';
import { formatJsonPath } from './json-path';
import { codeSecretNames } from './secret-ref';
import type { Step } from './step-schemas';
import { forEachTemplateRef } from './template';
import type { PathSegment } from './template-path';

export interface SecretReference {
  name: string;
  /** Where it is read, such as `steps[0].headers.authorization`. */
  path: string;
}

const cache = new WeakMap<FlowDefinition, SecretReference[]>();

/**
 * Every secret a definition reads, with where: `{{secrets.NAME}}` in templated fields, and
 * `secrets.NAME` in code. Cached per definition, since versions are immutable.
 */
export function secretReferences(definition: FlowDefinition): SecretReference[] {
  const cached = cache.get(definition);
  if (cached !== undefined) return cached;
  const found: SecretReference[] = [];
  collect(definition.steps, ['steps'], found);
  cache.set(definition, found);
  return found;
}

/** The distinct names a definition reads. */
export const secretNames = (definition: FlowDefinition): string[] => [
  ...new Set(secretReferences(definition).map((ref) => ref.name)),
];

function collect(steps: readonly Step[], blockPath: PathSegment[], found: SecretReference[]) {
  steps.forEach((step, index) => {
    const stepPath = [...blockPath, index];
    if (step.type === 'code') {
      const path = formatJsonPath([...stepPath, 'code']);
      for (const name of codeSecretNames(step.code)) found.push({ name, path });
    }
    for (const [field, value] of templatedFields(step)) {
      forEachTemplateRef(
        value,
        [...stepPath, ...field],
        (ref, fieldPath) => {
          const [root, name] = ref.segments;
          if (root === 'secrets' && typeof name === 'string') {
            found.push({ name, path: formatJsonPath(fieldPath) });
          }
        },
        () => undefined,
      );
    }
    for (const [key, nested] of nestedBlocks(step)) collect(nested, [...stepPath, key], found);
  });
}
