interface StoredLog {
  log?: { path?: unknown; stepId?: unknown; output?: unknown }[];
}

/**
 * Each step's output by its path (`each[3].double`), read from the run's log (in its row, or
 * the object the worker writes just after the run ends). Null while there is no log yet, or
 * when storage cannot give it now: the page then links to the log instead of failing.
 */
export async function readStepOutputs(
  readLog: () => Promise<string>,
): Promise<Map<string, unknown> | null> {
  let stored: StoredLog;
  try {
    stored = JSON.parse(await readLog()) as StoredLog;
  } catch {
    return null;
  }
  const outputs = new Map<string, unknown>();
  for (const entry of Array.isArray(stored.log) ? stored.log : []) {
    const key = typeof entry.path === 'string' ? entry.path : entry.stepId;
    if (typeof key === 'string' && 'output' in entry) outputs.set(key, entry.output);
  }
  return outputs;
}
