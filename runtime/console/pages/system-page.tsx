import type { SystemSnapshot } from '../../db/console-stats-store';
import { formatDuration } from './status-badge';

/** Waiting more than this long means workers are short or down. */
const STALE_WAIT_MS = 60_000;
/** More than this share of last hour's runs failing is worth a look. */
const HIGH_FAILURE_RATE = 0.1;

interface SystemProps {
  snapshot: SystemSnapshot;
  /** Live workers the queue sees; null in embedded mode, undefined when the queue did not say. */
  workers: number | null | undefined;
  /**
   * Set when workers are counted as seen within this many seconds (sqs: a worker resting
   * while idle holds no database connection, so only its recent sightings can be counted).
   */
  seenWithinS?: number | undefined;
  now: Date;
}

const workersText = (workers: number | null | undefined) =>
  workers === null ? 'in this process' : workers === undefined ? 'unknown' : String(workers);

/** "Is anything wrong right now": workers, the waiting work, its age, the recent failure rate. */
export function SystemStatus({ snapshot, workers, seenWithinS, now }: SystemProps) {
  const waitedMs =
    snapshot.oldestWaitingAt === null ? null : now.getTime() - snapshot.oldestWaitingAt.getTime();
  const { runs, failed } = snapshot.lastHour;
  const rate = runs === 0 ? 0 : failed / runs;
  const stale = waitedMs !== null && waitedMs > STALE_WAIT_MS;
  const failing = rate > HIGH_FAILURE_RATE;
  const window =
    seenWithinS === undefined
      ? null
      : seenWithinS % 60 === 0
        ? `${seenWithinS / 60} min`
        : `${seenWithinS} s`;
  // Counted by sightings, no worker seen is only alarming while runs wait: idle workers rest.
  const noWorkers = workers === 0 && (window === null || snapshot.waiting > 0);
  const restingWorkers = workers === 0 && !noWorkers;
  return (
    <>
      <p class={noWorkers || stale || failing ? 'message error' : 'message info'}>
        {noWorkers
          ? window === null
            ? 'No worker is running: runs wait until one starts.'
            : `No worker has been seen in the last ${window} and runs are waiting. Check that workers are running.`
          : stale
            ? `Runs are waiting: the oldest has waited ${formatDuration(waitedMs)}. Check that workers are running.`
            : failing
              ? `${(rate * 100).toFixed(1)} % of the last hour's runs failed. Open the failed runs.`
              : restingWorkers
                ? `Nothing looks wrong right now. No worker has taken a run in the last ${window}: idle workers close their database connection and are counted again with their next run.`
                : 'Nothing looks wrong right now.'}
      </p>
      <div class="tile-row">
        <div class={noWorkers ? 'tile alert' : 'tile'}>
          {window === null ? 'Workers seen' : `Workers seen, last ${window}`}
          <strong>{workersText(workers)}</strong>
        </div>
        <div class="tile">
          Waiting runs (queue depth)<strong>{snapshot.waiting.toLocaleString('en')}</strong>
        </div>
        <div class="tile">
          Running now (busy worker slots)<strong>{snapshot.running.toLocaleString('en')}</strong>
        </div>
        <div class={stale ? 'tile alert' : 'tile'}>
          Oldest waiting run<strong>{waitedMs === null ? 'none' : formatDuration(waitedMs)}</strong>
        </div>
        <div class={failing ? 'tile alert' : 'tile'}>
          Failed, last hour
          <strong>{runs === 0 ? 'no runs' : `${(rate * 100).toFixed(1)} %`}</strong>
          <span class="muted">{`${failed} of ${runs}`}</span>
        </div>
      </div>
      <p>
        <a href="/console/runs?status=failed">Failed runs</a> ·{' '}
        <a href="/console/runs?status=queued">Waiting runs</a>
      </p>
    </>
  );
}

export const SystemPage = (props: SystemProps) => (
  <>
    <h1>System</h1>
    <div data-live="on" aria-live="polite">
      <SystemStatus {...props} />
    </div>
  </>
);
