import type { InputTruncated } from '../engine';

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
 */
export async function readStepDetails(
  readLog: () => Promise<string>,
): Promise<Map<string, StepDetail> | null> {
  let stored: { log?: StoredEntry[] };
  try {
    stored = JSON.parse(await readLog()) as typeof stored;
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
