import type { InputTruncated } from '../engine';
import { type FileStore, ObjectNotFoundError } from '../storage';

/**
 * The largest stored run log the Run page reads for its steps' details. A log may be up to
 * SLUICE_MAX_RUN_LOG_MB (50 MB by default): fetched, decoded and parsed whole for every view,
 * it would cost the APP several times that in memory (about 250 MB for 50 MB), and a few views
 * at once would take an APP task's 1 GB. A larger log is only linked.
 */
export const MAX_SHOWN_LOG_BYTES = 8 * 1024 * 1024;

/** A run log over MAX_SHOWN_LOG_BYTES, left unread: its size. */
export interface LogNotShown {
  logBytes: number;
}

interface StoredEntry {
  path?: unknown;
  stepId?: unknown;
  input?: unknown;
  inputTruncated?: unknown;
  output?: unknown;
}

/** What the run log says a step was given and made; a box is absent when the log has none. */
export interface StepDetail {
  input?: { value: unknown };
  /** The input's marker when it was too large to keep whole (engine InputTruncated). */
  inputTruncated?: InputTruncated;
  output?: { value: unknown };
}

/**
 * Each step's input and output by its path (`each[3].double`), read from the run's log (in its
 * row, or the object the worker writes just after the run ends). Null while there is no log
 * yet, or when storage cannot give it now: the page then links to the log instead of failing.
 * The reader's LogNotShown, for a log too large to read, is passed on.
 */
export async function readStepDetails(
  readLog: () => Promise<string>,
): Promise<Map<string, StepDetail> | null>;
export async function readStepDetails(
  readLog: () => Promise<string | LogNotShown>,
): Promise<Map<string, StepDetail> | LogNotShown | null>;
export async function readStepDetails(
  readLog: () => Promise<string | LogNotShown>,
): Promise<Map<string, StepDetail> | LogNotShown | null> {
  let stored: { log?: StoredEntry[] };
  try {
    const text = await readLog();
    if (typeof text !== 'string') return text;
    stored = JSON.parse(text) as typeof stored;
  } catch {
    return null;
  }
  const details = new Map<string, StepDetail>();
  for (const entry of Array.isArray(stored.log) ? stored.log : []) {
    const key = typeof entry.path === 'string' ? entry.path : entry.stepId;
    if (typeof key !== 'string') continue;
    const detail: StepDetail = {};
    if ('input' in entry) detail.input = { value: entry.input };
    const truncated = inputTruncatedOf(entry.inputTruncated);
    if (truncated !== undefined) detail.inputTruncated = truncated;
    if ('output' in entry) detail.output = { value: entry.output };
    details.set(key, detail);
  }
  return details;
}

/** Reads a run log in storage for readStepDetails: its size first, and the log only when small enough. */
export const storedLogReader =
  (store: Pick<FileStore, 'head' | 'get'>, key: string) =>
  async (): Promise<string | LogNotShown> => {
    const info = await store.head(key);
    if (info === null) throw new ObjectNotFoundError(key);
    if (info.size > MAX_SHOWN_LOG_BYTES) return { logBytes: info.size };
    return Buffer.from(await store.get(key)).toString('utf8');
  };

/** The marker when it has the engine's shape; anything else is left out, not shown half. */
function inputTruncatedOf(value: unknown): InputTruncated | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { bytes, items, preview } = value as Record<string, unknown>;
  if (typeof bytes !== 'number') return undefined;
  const marker: InputTruncated = { bytes };
  if (typeof items === 'number') marker.items = items;
  if (typeof preview === 'string') marker.preview = preview;
  return marker;
}
