import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../runtime/env';

/**
 * The README's Configuration table against runtime/env.ts, so that neither drifts alone: every
 * variable the schema reads has a row and every row names one it reads; each row's default is
 * what an empty environment parses to; each number's accepted range, and each choice's values,
 * appear in its row, as the refusal a bad value gets states them.
 */

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the table under `## Configuration`: variable name → default and meaning cells. */
function configurationRows(): Map<string, { fallback: string; meaning: string }> {
  const start = readme.indexOf('\n## Configuration\n');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, { fallback: string; meaning: string }>();
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    // Cells split on `|` that a backslash does not escape.
    const [names = '', fallback = '', ...meaning] = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    for (const [, name] of names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) {
      rows.set(name as string, { fallback, meaning: meaning.join(' | ') });
    }
  }
  return rows;
}

/** The names runtime/env.ts reads: every key its schema looks up in the environment. */
function variablesRead(): string[] {
  const read = new Set<string>();
  const recorder = new Proxy({} as Record<string, string | undefined>, {
    get(_target, key) {
      if (typeof key === 'string') read.add(key);
      return undefined;
    },
  });
  parseEnv(recorder);
  return [...read].filter((key) => /^[A-Z][A-Z0-9_]*$/.test(key));
}

/** What the refusal of a value no variable accepts says it accepts. */
function refusalOf(variable: string): string {
  try {
    parseEnv({ [variable]: 'not a value' });
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

/** Defaults the README describes rather than states, since they are not one value. */
const DESCRIBED_DEFAULTS: Record<string, string> = {
  SLUICE_INSTANCE_ID: 'random',
  SLUICE_PUBLIC_URL: 'http://localhost:$PORT',
  SLUICE_QUEUE: '`bullmq` with Redis, else `memory`',
  SLUICE_QUEUE_PREFIX: '`{sluice:<SLUICE_DEPLOYMENT_NAME>}`',
  SLUICE_SQS_REGION: 'from the queue URL',
  SLUICE_LOCAL_SIGNING_SECRET: 'generated',
  SLUICE_SECRETS_KEY: 'generated',
  SLUICE_METRICS_REGION: 'SDK default',
};

/** The runtime's source files that mention process.env, relative to runtime/. */
function processEnvReaders(): string[] {
  const runtime = new URL('../../runtime/', import.meta.url);
  return readdirSync(runtime, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file))
    .filter((file) => readFileSync(new URL(file, runtime), 'utf8').includes('process.env'))
    .sort();
}

const rows = configurationRows();
const read = variablesRead();
const defaults = parseEnv({}) as unknown as Record<string, unknown>;

describe("the README's Configuration table", () => {
  it('has a row for every variable runtime/env.ts reads, and no other', () => {
    expect(read.length).toBeGreaterThan(50);
    expect(read.filter((name) => !rows.has(name))).toEqual([]);
    expect([...rows.keys()].filter((name) => !read.includes(name))).toEqual([]);
  });

  it('covers every reader: only runtime/env.ts, and the health probe for its one variable', () => {
    expect(processEnvReaders()).toEqual(['env.ts', 'health-probe.ts']);
    const probe = readFileSync(new URL('../../runtime/health-probe.ts', import.meta.url), 'utf8');
    expect([...probe.matchAll(/process\.env\.([A-Z0-9_]+)/g)].map((m) => m[1])).toEqual([
      'SLUICE_WORKER_HEALTH_PORT',
    ]);
  });

  it.each(read)('gives the default of %s', (name) => {
    const documented = rows.get(name)?.fallback;
    const described = DESCRIBED_DEFAULTS[name];
    if (described !== undefined) expect(documented).toBe(described);
    else if (defaults[name] === undefined) expect(documented).toBe('—');
    else expect(documented).toBe(String(defaults[name]));
  });

  it.each(read)('states what %s accepts', (name) => {
    const meaning = rows.get(name)?.meaning ?? '';
    const refusal = refusalOf(name);
    const range = new RegExp(`${name} must be an integer from (\\d+) to (\\d+)`).exec(refusal);
    if (range !== null) {
      const [, min, max] = range;
      expect(meaning).toMatch(new RegExp(`\\b${min}( to |–)${max}\\b`));
    }
    const choices = new RegExp(`${name} must be one of ([^(]+) \\(got`).exec(refusal);
    for (const choice of choices?.[1]?.split(', ') ?? []) {
      expect(meaning).toContain(`\`${choice}\``);
    }
  });
});
