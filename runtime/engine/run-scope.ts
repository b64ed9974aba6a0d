import type { TemplateRoots } from './template';
import type { TriggerInput } from './types';

/** A step's output with its serialised JSON, kept so it is never serialised twice. */
export interface StepOutput {
  readonly value: unknown;
  readonly json: string;
}

export function outputOf(value: unknown): StepOutput {
  return { value, json: JSON.stringify(value) ?? 'null' };
}

/**
 * What templates and code steps can read at one point of a run: the trigger and the outputs of
 * the steps that ran before, by id. A loop iteration works in a child scope, so its body's
 * outputs do not leak past the loop.
 */
interface TriggerHolder {
  readonly input: TriggerInput;
  readonly secrets: ReadonlyMap<string, string>;
  /** Serialised on first use and shared by all scopes of a run. */
  json: string | null;
}

export class RunScope implements TemplateRoots {
  readonly #trigger: TriggerHolder;
  readonly #outputs: Map<string, StepOutput>;

  private constructor(trigger: TriggerHolder, outputs: Map<string, StepOutput>) {
    this.#trigger = trigger;
    this.#outputs = outputs;
  }

  static forTrigger(
    trigger: TriggerInput,
    secrets: ReadonlyMap<string, string> = new Map(),
  ): RunScope {
    return new RunScope({ input: trigger, secrets, json: null }, new Map());
  }

  /** A scope that starts with everything this one has; what it adds stays in it. */
  child(): RunScope {
    return new RunScope(this.#trigger, new Map(this.#outputs));
  }

  set(stepId: string, output: StepOutput): void {
    this.#outputs.set(stepId, output);
  }

  hasRoot(name: string): boolean {
    return name === 'trigger' || name === 'secrets' || this.#outputs.has(name);
  }

  rootValue(name: string): unknown {
    if (name === 'trigger') return this.#trigger.input;
    if (name === 'secrets') return Object.fromEntries(this.#trigger.secrets);
    return this.#outputs.get(name)?.value;
  }

  /** Those of `names` this run has no value for: secrets deleted since the flow was saved. */
  missingSecrets(names: readonly string[]): string[] {
    return names.filter((name) => !this.#trigger.secrets.has(name));
  }

  /**
   * `{ trigger, ...outputs }` as JSON, assembled from JSON already at hand, plus `secrets`
   * holding only `secretNames` (what the code reads), so code never sees the others.
   */
  codeContextJson(secretNames: readonly string[] = []): string {
    this.#trigger.json ??= JSON.stringify(this.#trigger.input);
    let json = `{"trigger":${this.#trigger.json}`;
    if (secretNames.length > 0)
      json += `,"secrets":${JSON.stringify(this.#secretsOf(secretNames))}`;
    for (const [stepId, output] of this.#outputs) json += `,"${stepId}":${output.json}`;
    return `${json}}`;
  }

  /** The value `codeContextJson` serialises, built from the values at hand (nothing copied). */
  codeContextValue(secretNames: readonly string[] = []): Record<string, unknown> {
    const value: Record<string, unknown> = { trigger: this.#trigger.input };
    if (secretNames.length > 0) value.secrets = this.#secretsOf(secretNames);
    for (const [stepId, output] of this.#outputs) value[stepId] = output.value;
    return value;
  }

  #secretsOf(names: readonly string[]): Record<string, string | undefined> {
    return Object.fromEntries(names.map((name) => [name, this.#trigger.secrets.get(name)]));
  }
}
