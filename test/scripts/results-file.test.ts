import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestResultsFile, newResultsFile } from '../../scripts/bench/results-file';

describe('bench results files', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'bench-results-')), 'bench-results');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  const write = (path: string) => writeFileSync(path, '{}\n');

  it("numbers a day's later runs instead of overwriting the first", () => {
    const first = newResultsFile('2026-12-04', '', dir);
    expect(first).toBe(`${dir}/2026-12-04.json`);
    write(first);
    const second = newResultsFile('2026-12-04', '', dir);
    expect(second).toBe(`${dir}/2026-12-04-2.json`);
    write(second);
    expect(newResultsFile('2026-12-04', '', dir)).toBe(`${dir}/2026-12-04-3.json`);
  });

  it('numbers sqs runs apart from bullmq runs', () => {
    write(newResultsFile('2026-12-04', '', dir));
    expect(newResultsFile('2026-12-04', '-sqs', dir)).toBe(`${dir}/2026-12-04-sqs.json`);
  });

  it('finds the latest bullmq run by day, then by number, past renamed files and sqs runs', () => {
    expect(latestResultsFile('', dir)).toBeUndefined();
    mkdirSync(dir);
    for (const name of [
      '2026-12-03.json',
      '2026-12-04.json',
      '2026-12-04-2.json',
      '2026-12-04-10.json',
      '2026-12-04-sqs.json',
      '2026-12-04-before-issue19-session13.json',
      '2026-12-04-issue19-session13-pair1.jsonl',
    ]) {
      write(join(dir, name));
    }
    expect(latestResultsFile('', dir)).toBe(`${dir}/2026-12-04-10.json`);
    expect(latestResultsFile('-sqs', dir)).toBe(`${dir}/2026-12-04-sqs.json`);
  });
});
