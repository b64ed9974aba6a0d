import { readFileSync } from 'node:fs';
import type { Node } from 'constructs';
import { describe, expect, it } from 'vitest';
import { sluiceStackPropsFromContext } from '../../lib/context';

/**
 * The README's context table (Deploy to AWS, Configuration) against the keys bin/sluice.ts reads,
 * so that a key added to one is added to the other.
 */

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The keys named in the first cell of each row of the table. */
function documentedKeys(): Set<string> {
  const start = readme.indexOf('### Configuration (cdk.json context, or `-c key=value`)');
  const end = readme.indexOf('\n### ', start + 1);
  const keys = new Set<string>();
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.slice(1).split(/(?<!\\)\|/)[0] ?? '';
    for (const [, key = ''] of firstCell.matchAll(/`([A-Za-z]+)`/g)) keys.add(key);
  }
  return keys;
}

/** Every key sluiceStackPropsFromContext looks up, plus the stack name bin/sluice.ts reads. */
function keysRead(): Set<string> {
  const read = new Set<string>(['stackName']);
  const recorder = {
    tryGetContext(key: string) {
      read.add(key);
      return undefined;
    },
  } as unknown as Node;
  sluiceStackPropsFromContext(recorder);
  return read;
}

describe("the README's context table", () => {
  it('names every context key the CDK app reads, and no other', () => {
    const documented = documentedKeys();
    const read = keysRead();
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((key) => !documented.has(key))).toEqual([]);
    expect([...documented].filter((key) => !read.has(key))).toEqual([]);
  });
});
