import { docSection } from './doc-section';

type Figure = Record<string, unknown>;

const HEADING = '## Sandbox recovery';

/**
 * The report's section on the sandbox-recovery scenario. A run without that scenario (it is
 * opt-in) keeps the section of the report it replaces, so a full run does not drop it.
 */
export function sandboxRecoverySection(figures: Figure[], previousDoc: string): string {
  const cases = figures.filter((f) => f.scenario === 'sandbox-recovery');
  if (cases.length === 0) return docSection(previousDoc, HEADING);
  const cell = (value: unknown) => (value === undefined ? '' : String(value));
  const first = cases[0] ?? {};
  const rows = cases.map((f) =>
    [
      f.case,
      f.hostile_status,
      f.hostile_ms,
      f.next_ok ? 'yes' : 'NO',
      f.next_ok_after_cap_ms,
      f.rss_after_mb,
      f.rss_after_1s_mb,
      f.rss_after_1s_vs_idle,
    ]
      .map(cell)
      .join(' | '),
  );
  return `${HEADING}

\`npm run bench -- --scenarios sandbox-recovery\`: one worker of its own (code cap
${cell(first.cap_ms)} ms, memory cap 64 MB, idle RSS ${cell(first.idle_rss_mb)} MB) runs each
hostile code step, then a benign one, by sync webhook. "Next step ok after the cap" is the time
from the hostile request plus the cap to the benign step's answer (the target is at most 1 s);
RSS is the worker's, just after the benign step and 1 s later (the target is under 2× idle).
A negative time means the hostile step ended before its cap: a removed global, the memory cap,
or an outcome known at once (top-level code that threw, a result that can never settle). Its
answer is 500 for a failed run; a rejection the step left unhandled does not fail it (200).

| hostile case | its answer | its ms | next step ok | next step ok after the cap, ms | RSS after, MB | RSS 1 s later, MB | vs idle |
|---|---|---|---|---|---|---|---|
${rows.map((row) => `| ${row} |`).join('\n')}
`;
}
