import type { RunCounts } from '../../db/console-stats-store';
import type { FlowSummary } from '../../db/flow-store';
import { StatusBadge } from './status-badge';

export interface FlowsPageProps {
  flows: FlowSummary[];
  counts: Map<string, RunCounts>;
  publicUrl: string;
  /** The cursor of the next (older) page, null on the last. */
  nextCursor: string | null;
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '—' : `${((part / whole) * 100).toFixed(1)} %`;

function WebhookUrl({ label, url }: { label: string; url: string }) {
  return (
    <div>
      <code>{url}</code>{' '}
      <button type="button" data-copy={url} aria-label={`Copy the ${label} URL`}>
        Copy
      </button>
    </div>
  );
}

/** A page of the project's flows with their last 24 h, webhook URLs and the enable switch. */
export function FlowsPage({ flows, counts, publicUrl, nextCursor }: FlowsPageProps) {
  if (flows.length === 0) {
    return (
      <>
        <h1>Flows</h1>
        <p class="empty">
          No flows yet — create one with <code>POST /v1/flows</code> (see the README's “Create a
          flow”), then refresh this page.
        </p>
      </>
    );
  }
  return (
    <>
      <h1>Flows</h1>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Version</th>
              <th scope="col">Webhooks</th>
              <th scope="col">Runs (24 h)</th>
              <th scope="col">Failed (24 h)</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {flows.map((flow) => {
              const c = counts.get(flow.id) ?? { runs: 0, failed: 0 };
              const hook = `${publicUrl}/v1/webhooks/${flow.id}`;
              const next = flow.status === 'enabled' ? 'disable' : 'enable';
              return (
                <tr>
                  <td>
                    <a href={`/console/flows/${encodeURIComponent(flow.id)}`}>{flow.name}</a>
                  </td>
                  <td>
                    <StatusBadge status={flow.status} />
                  </td>
                  <td>{flow.version ?? '—'}</td>
                  <td>
                    <WebhookUrl label="webhook" url={hook} />
                    <WebhookUrl label="sync webhook" url={`${hook}/sync`} />
                  </td>
                  <td>{c.runs.toLocaleString('en')}</td>
                  <td>{percent(c.failed, c.runs)}</td>
                  <td>
                    <button
                      type="button"
                      data-api={`POST /v1/flows/${encodeURIComponent(flow.id)}/${next}`}
                      aria-label={`${next === 'enable' ? 'Enable' : 'Disable'} ${flow.name}`}
                    >
                      {next === 'enable' ? 'Enable' : 'Disable'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {nextCursor !== null && (
        <p class="pager">
          <a href={`/console/flows?${new URLSearchParams({ cursor: nextCursor })}`}>
            Older flows →
          </a>
        </p>
      )}
    </>
  );
}
