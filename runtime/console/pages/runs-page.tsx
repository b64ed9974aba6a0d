import type { RunSummary } from '../../db/run-store';
import { runStatuses } from '../../db/schema';
import { formatDuration, formatTime, StatusBadge } from './status-badge';

export interface RunsFilter {
  flowId?: string | undefined;
  status?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

export interface RunsPageProps {
  filter: RunsFilter;
  flows: { id: string; name: string }[];
  runs: RunSummary[];
  nextCursor: string | null;
}

const duration = (run: RunSummary) =>
  run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null;

/** The live part: the rows, re-rendered every refresh so new runs and statuses appear. */
export function RunsTable({ runs, flows, nextCursor, filter }: Omit<RunsPageProps, never>) {
  if (runs.length === 0) {
    return (
      <p class="empty">
        No runs match. Runs appear here when a flow's webhook is called:{' '}
        <code>curl -X POST …/v1/webhooks/&lt;flowId&gt; -d '{'{}'}'</code>. This list updates on its
        own.
      </p>
    );
  }
  const names = new Map(flows.map((f) => [f.id, f.name]));
  const next = new URLSearchParams(
    Object.entries({ ...filter, cursor: nextCursor ?? '' }).filter(([, v]) => v) as [
      string,
      string,
    ][],
  );
  return (
    <>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Flow</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col" class="hide-narrow">
                Duration
              </th>
              <th scope="col" class="hide-narrow">
                Failed step
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr data-run-id={run.id}>
                <td>
                  <a href={`/console/runs/${encodeURIComponent(run.id)}`}>{run.id.slice(0, 8)}</a>
                </td>
                <td>{names.get(run.flowId) ?? run.flowId}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{formatTime(run.createdAt)}</td>
                <td class="hide-narrow">{formatDuration(duration(run))}</td>
                <td class="hide-narrow">{run.failedStep ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nextCursor !== null && (
        <p class="pager">
          <a href={`/console/runs?${next}`}>Older runs →</a>
        </p>
      )}
    </>
  );
}

/** Runs, newest first, filtered by flow, status and time range, with cursor paging. */
export function RunsPage(props: RunsPageProps) {
  const { filter, flows } = props;
  return (
    <>
      <h1>Runs</h1>
      <form method="get" action="/console/runs">
        <label>
          Flow
          <select name="flowId">
            <option value="">all flows</option>
            {flows.map((f) => (
              <option value={f.id} selected={f.id === filter.flowId}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status">
            <option value="">any status</option>
            {runStatuses.map((s) => (
              <option value={s} selected={s === filter.status}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="datetime-local" name="since" value={filter.since ?? ''} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" name="until" value={filter.until ?? ''} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div data-live="on" aria-live="polite">
        <RunsTable {...props} />
      </div>
    </>
  );
}
