import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The README's "Pins in package.json, and why" table against package.json: every dependency held
 * tighter than a caret range (an exact version, a tilde) and every override says why it is, and
 * every dependency the table names is still there, at the range it gives.
 */

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides: Record<string, string>;
};
const declared: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };

/** Dependency name → the range its row gives, for each row of the table. */
function pinRows(): Map<string, string> {
  const start = readme.indexOf('**Pins in `package.json`, and why:**');
  const end = readme.indexOf('\n## ', start);
  const pins = new Map<string, string>();
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.slice(1).split(/(?<!\\)\|/)[0] ?? '';
    // `a` and `b` `1.2.3`: a range applies to the names before it since the last range.
    let names: string[] = [];
    for (const [, token = ''] of firstCell.matchAll(/`([^`]+)`/g)) {
      if (/^[\d^~<>=]/.test(token)) {
        for (const name of names) pins.set(name, token);
        names = [];
      } else {
        names.push(token.replace(/^overrides\./, ''));
      }
    }
  }
  return pins;
}

const pins = pinRows();

describe('the README table of pins', () => {
  it('says why each exact or tilde dependency, and each override, is pinned', () => {
    const held = Object.entries(declared)
      .filter(([, range]) => /^[\d~]/.test(range))
      .map(([name]) => name);
    expect(held.length).toBeGreaterThan(5);
    expect([...held, ...Object.keys(pkg.overrides)].filter((name) => !pins.has(name))).toEqual([]);
  });

  it('names only dependencies package.json still has, at the range it gives', () => {
    const stale = [...pins]
      .filter(([name]) => !name.includes('.') && name !== 'allowScripts') // engines, devEngines
      .filter(([name, range]) => {
        const actual = declared[name] ?? pkg.overrides[name];
        // `^24` stands for `^24.0.0`, `^4` for `^4.1.12`: the table may leave out the minor.
        return actual !== range && !actual?.startsWith(`${range}.`);
      })
      .map(([name, range]) => `${name} ${range} (package.json: ${declared[name] ?? 'none'})`);
    expect(stale).toEqual([]);
  });
});
