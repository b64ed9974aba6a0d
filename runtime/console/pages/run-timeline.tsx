import type { RunRow } from '../../db/run-store';
import { finalRunStatuses } from '../../db/schema';
import type { LogNotShown, StepDetail } from '../step-details';
import { JsonView } from './json-view';
import { formatDuration, formatTime, StatusBadge } from './status-badge';
import { StepInput } from './step-input';

export interface RunPageProps {
  run: RunRow;
  flowName: string | null;
  logUrl: string | null;
  /** Each step's input and output by its path, from the run log; null until it is written. */
  details: ReadonlyMap<string, StepDetail> | null;
  /** Set when the log is too large for the page to read: its steps' details are not shown. */
  logNotShown?: LogNotShown | undefined;
}

type StepEntry = Record<string, unknown>;

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);

function StepRow({
  step,
  failedStep,
  detail,
}: {
  step: StepEntry;
  failedStep: string | null;
  detail: StepDetail | undefined;
}) {
  const id = text(step.path) ?? text(step.stepId) ?? '?';
  const failed = text(step.error) !== undefined || id === failedStep || step.stepId === failedStep;
  const { stepId, path, type, status, startedAt, durationMs, attempts, error, ...summary } = step;
  // The run row keeps outputs up to 4 KiB; the log has every one, so it wins when read.
  const { output: _inline, outputTruncated: _truncated, ...others } = summary;
  const output = detail?.output;
  const rest = output === undefined ? summary : others;
  const hasInput = detail?.input !== undefined || detail?.inputTruncated !== undefined;
  return (
    <li class={failed ? 'failed-step' : undefined} data-step={id}>
      <strong>{id}</strong> <span class="muted">{text(type) ?? ''}</span>{' '}
      {text(status) !== undefined && <StatusBadge status={text(status) ?? ''} />}{' '}
      {failed && text(status) === undefined && <StatusBadge status="failed" />}
      {` · ${formatDuration(num(durationMs))}`}
      {num(attempts) !== undefined && ` · ${num(attempts)} attempts`}
      {text(startedAt) !== undefined && (
        <span class="muted">{` · started ${text(startedAt)}`}</span>
      )}
      {text(error) !== undefined && <p class="message error">{text(error)}</p>}
      {Object.keys(rest).length > 0 && <JsonView value={rest} label="details" />}
      {(hasInput || output !== undefined) && (
        <div class="step-io">
          {hasInput && detail !== undefined && <StepInput detail={detail} />}
          {output !== undefined && (
            <section class="step-output">
              <h3>Output</h3>
              <JsonView value={output.value} label="output" />
            </section>
          )}
        </div>
      )}
    </li>
  );
}

/** The live part of a run: status, error, the step timeline and the reply. */
export function RunDetail({ run, logUrl, details, logNotShown }: Omit<RunPageProps, 'flowName'>) {
  const steps = Array.isArray(run.steps) ? (run.steps as StepEntry[]) : [];
  const total =
    run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null;
  return (
    <>
      <p>
        <StatusBadge status={run.status} />
        {` · created ${formatTime(run.createdAt)} · started ${formatTime(run.startedAt)} · finished ${formatTime(run.finishedAt)} · ${formatDuration(total)} · attempt ${run.attempt}`}
      </p>
      {run.error !== null && (
        <p class="message error">
          {run.failedStep !== null && <strong>{`Step ${run.failedStep} failed: `}</strong>}
          {run.error}
        </p>
      )}
      <h2>Steps</h2>
      {steps.length === 0 ? (
        <p class="empty">No step has run yet. This page updates on its own.</p>
      ) : (
        <ol>
          {steps.map((step) => (
            <StepRow step={step} failedStep={run.failedStep} detail={detailOf(details, step)} />
          ))}
        </ol>
      )}
      <h2>Input (trigger)</h2>
      <JsonView value={run.trigger} label="trigger" />
      {run.response !== null && (
        <>
          <h2>{`Reply${run.responseStatus === null ? '' : ` (${run.responseStatus})`}`}</h2>
          <JsonView value={run.response} label="reply" />
        </>
      )}
      <h2>Log</h2>
      {logUrl === null ? (
        <p class="muted">The log is written when the run ends.</p>
      ) : (
        <p>
          <a href={logUrl} rel="noreferrer">
            Open the full log
          </a>{' '}
          <span class="muted">
            (a short-lived signed link: the whole run as the worker recorded it)
          </span>
        </p>
      )}
      {logNotShown !== undefined && (
        <p class="muted">
          {`The log is ${logNotShown.logBytes.toLocaleString('en')} bytes, too large to show each step's input and output here: open the full log to see them.`}
        </p>
      )}
    </>
  );
}

function detailOf(
  details: ReadonlyMap<string, StepDetail> | null,
  step: StepEntry,
): StepDetail | undefined {
  const key = text(step.path) ?? text(step.stepId);
  return details === null || key === undefined ? undefined : details.get(key);
}

export const isSettled = (run: RunRow) => finalRunStatuses.includes(run.status);

/** One run: its timeline of steps, and the replay and cancel buttons (the run-control API). */
export function RunPage({
  run,
  flowName,
  logUrl,
  details,
  logNotShown,
  final,
}: RunPageProps & {
  /** Nothing more will change: the run is settled and its log read. */
  final: boolean;
}) {
  const id = encodeURIComponent(run.id);
  return (
    <>
      <h1>{`Run ${run.id.slice(0, 8)}`}</h1>
      <p class="muted">
        {'flow '}
        <a href={`/console/flows/${encodeURIComponent(run.flowId)}`}>{flowName ?? run.flowId}</a>
        {` · run ${run.id}`}
        {run.replayOf !== null && (
          <>
            {' · replay of '}
            <a href={`/console/runs/${encodeURIComponent(run.replayOf)}`}>
              {run.replayOf.slice(0, 8)}
            </a>
          </>
        )}
      </p>
      <p>
        <button
          type="button"
          class="primary"
          data-api={`POST /v1/runs/${id}/replay`}
          data-then="run"
        >
          Replay
        </button>{' '}
        {!isSettled(run) && (
          <button type="button" class="danger" data-api={`POST /v1/runs/${id}/cancel`}>
            Cancel
          </button>
        )}
      </p>
      <div data-live={final ? 'off' : 'on'} aria-live="polite">
        <RunDetail run={run} logUrl={logUrl} details={details} logNotShown={logNotShown} />
      </div>
    </>
  );
}
