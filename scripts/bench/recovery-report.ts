import { readFileSync, writeFileSync } from 'node:fs';
import { docSection } from './doc-section';

type Figure = Record<string, unknown>;

const HEADING = '## Recovery latencies';
const DOC = 'docs/benchmarks.md';

/**
 * The report's section on the recovery scenario. A run without it (it is opt-in) keeps the
 * section of the report it replaces.
 */
export function recoverySection(figures: Figure[], previousDoc: string): string {
  const rows = figures.filter((f) => f.scenario === 'recovery');
  if (rows.length === 0) return docSection(previousDoc, HEADING);
  return `${HEADING}

\`npm run bench -- --scenarios recovery\` (${new Date().toISOString().slice(0, 10)}): two APPs
publishing queue depth every second, workers, and a Redis of the scenario's own that it stops
for 3 s without persistence; the deployment's PostgreSQL and S3. These are the latency promises
the tests bound only loosely, since a tight bound on a shared 2-core box fails on a slow tick
rather than on a broken promise; the tests keep a deadline that tells "happened" from "never".
One sample each unless named.

| figure | ms | promise |
|---|---|---|
${rows.map((f) => `| ${String(f.figure)} | ${String(f.ms)} | ${String(f.promise)} |`).join('\n')}
`;
}

/** Replaces (or appends) only this section of docs/benchmarks.md: a run of this scenario alone. */
export function writeRecoverySection(figures: Figure[]): void {
  const doc = readFileSync(DOC, 'utf8');
  const section = recoverySection(figures, doc);
  const previous = docSection(doc, HEADING);
  const next = previous === '' ? `${doc.trimEnd()}\n\n${section}` : doc.replace(previous, section);
  writeFileSync(DOC, next);
}
