import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';

const RESULTS_DIR = 'bench-results';

/**
 * The file for a new run's raw figures: bench-results/<day><kind>.json, or <day><kind>-2.json,
 * -3.json and on when earlier runs that day hold those names. A run never overwrites another:
 * docs/benchmarks.md cites earlier runs by file name.
 */
export function newResultsFile(day: string, kind = '', dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  for (let n = 1; ; n += 1) {
    const path = `${dir}/${day}${kind}${n === 1 ? '' : `-${n}`}.json`;
    if (!existsSync(path)) return path;
  }
}

/** Writes `record` as a new run's raw figures (newResultsFile) and returns the file's path. */
export function writeNewResultsFile(record: { date: string }, kind = ''): string {
  const path = newResultsFile(record.date.slice(0, 10), kind);
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/**
 * The newest run of `kind` that newResultsFile named: the latest day, then the highest number
 * that day. Files renamed by hand (a baseline, a pair) are not runs of any kind.
 */
export function latestResultsFile(kind = '', dir = RESULTS_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const literalKind = kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = new RegExp(`^(\\d{4}-\\d{2}-\\d{2})${literalKind}(?:-(\\d+))?\\.json$`);
  let latest: { day: string; n: number; name: string } | undefined;
  for (const name of readdirSync(dir)) {
    const match = named.exec(name);
    if (match === null) continue;
    const day = match[1] ?? '';
    const n = match[2] === undefined ? 1 : Number(match[2]);
    if (latest === undefined || day > latest.day || (day === latest.day && n > latest.n)) {
      latest = { day, n, name };
    }
  }
  return latest === undefined ? undefined : `${dir}/${latest.name}`;
}
