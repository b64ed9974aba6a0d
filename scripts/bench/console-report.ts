import { readFileSync, writeFileSync } from 'node:fs';
import { docSection } from './doc-section';

type Figure = Record<string, unknown>;

const HEADING = '## Console page times';
const DOC = 'docs/benchmarks.md';

/** Replaces (or appends) the console's section of docs/benchmarks.md. */
export function writeConsoleSection(figures: Figure[]): void {
  const rows = figures.filter((f) => f.scenario === 'console');
  if (rows.length === 0) return;
  const section = `${HEADING}

\`npm run bench -- --scenarios console\` (${new Date().toISOString().slice(0, 10)}): embedded mode
(\`npm start\`'s shape: PGlite, the in-process queue) with ${String(rows[0]?.runs)} runs over 20 flows
and 48 h stored; ${String(rows[0]?.samples)} sequential GETs per page with a session cookie, timed
to the last byte of the HTML, after 5 warm-ups. The target is under 200 ms for every page.

| page | p50 ms | p95 ms | max ms |
|---|---|---|---|
${rows.map((f) => `| ${String(f.page)} | ${String(f.p50_ms)} | ${String(f.p95_ms)} | ${String(f.max_ms)} |`).join('\n')}
`;
  const doc = readFileSync(DOC, 'utf8');
  const previous = docSection(doc, HEADING);
  writeFileSync(
    DOC,
    previous === '' ? `${doc.trimEnd()}\n\n${section}` : doc.replace(previous, section),
  );
}
