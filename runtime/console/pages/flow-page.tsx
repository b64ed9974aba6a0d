import { diffLines } from 'diff';
import { JsonView } from './json-view';
import { formatTime, StatusBadge } from './status-badge';

export interface FlowPageProps {
  flow: { id: string; name: string; status: string; version: number | null; definition: unknown };
  versions: { id: string; version: number; createdAt: Date }[];
  /** The two versions to compare, with their definitions, when the reader picked them. */
  diff?: { from: number; to: number; fromDefinition: unknown; toDefinition: unknown } | undefined;
}

const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The most changed lines a comparison looks for, and the longest it may take: the diff runs
 * on the APP's event loop, where its cost grows with the square of what changed (8,000
 * changed lines took 11 s), and every other request would wait for it.
 */
export const MAX_DIFF_EDITS = 1000;
const MAX_DIFF_MS = 250;

function VersionDiff({ diff }: { diff: NonNullable<FlowPageProps['diff']> }) {
  const changes = diffLines(pretty(diff.fromDefinition), pretty(diff.toDefinition), {
    maxEditLength: MAX_DIFF_EDITS,
    timeout: MAX_DIFF_MS,
  });
  const title = `Version ${diff.from} → version ${diff.to}`;
  if (changes === undefined) {
    return (
      <section aria-label="Difference">
        <h2>{title}</h2>
        <p class="muted">{`These versions differ in more than ${MAX_DIFF_EDITS.toLocaleString('en')} lines, or took too long to compare: too many changes to show as a difference.`}</p>
      </section>
    );
  }
  return (
    <section aria-label="Difference">
      <h2>{title}</h2>
      <pre>
        {changes.map((change) => (
          <span class={change.added ? 'diff-add' : change.removed ? 'diff-del' : undefined}>
            {change.value
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => `${change.added ? '+ ' : change.removed ? '- ' : '  '}${line}\n`)}
          </span>
        ))}
      </pre>
    </section>
  );
}

function VersionSelect(props: {
  label: string;
  name: string;
  versions: FlowPageProps['versions'];
  picked: number | undefined;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        {props.versions.map((v) => (
          <option value={String(v.version)} selected={v.version === props.picked}>
            {`v${v.version} · ${formatTime(v.createdAt)}`}
          </option>
        ))}
      </select>
    </label>
  );
}

/** One flow: its definition, its versions and a diff between two, and the editor for a new one. */
export function FlowPage({ flow, versions, diff }: FlowPageProps) {
  const [latest, previous] = versions;
  return (
    <>
      <h1>
        {flow.name} <StatusBadge status={flow.status} />
      </h1>
      <p class="muted">
        {`id ${flow.id} · current version ${flow.version ?? '—'} · `}
        <a href={`/console/runs?flowId=${encodeURIComponent(flow.id)}`}>its runs</a>
      </p>
      <h2>Definition</h2>
      <JsonView value={flow.definition} label="definition" />
      <h2>Versions</h2>
      <form method="get" action={`/console/flows/${encodeURIComponent(flow.id)}`}>
        <VersionSelect
          label="From"
          name="from"
          versions={versions}
          picked={diff?.from ?? previous?.version}
        />
        <VersionSelect
          label="To"
          name="to"
          versions={versions}
          picked={diff?.to ?? latest?.version}
        />
        <button type="submit">Compare</button>
      </form>
      {diff !== undefined && <VersionDiff diff={diff} />}
      <h2>New version</h2>
      <form data-new-version={`/v1/flows/${encodeURIComponent(flow.id)}`}>
        <label class="block">
          Definition (JSON)
          <textarea name="definition" spellcheck={false}>
            {JSON.stringify(flow.definition, null, 2)}
          </textarea>
        </label>
        <ul class="field-errors" aria-live="polite" />
        <button type="submit" class="primary">
          Save as a new version
        </button>
      </form>
    </>
  );
}
