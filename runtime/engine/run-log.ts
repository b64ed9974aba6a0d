import { LimitExceededError } from './errors/limit-exceeded-error';
import type { StepOutput } from './run-scope';
import type { StepLogEntry } from './types';

type EntryWithoutResult = Omit<StepLogEntry, 'status' | 'output' | 'error'>;

// `,"output":` plus the comma between entries.
const OUTPUT_FIELD_BYTES = 11;

/** The run's step log, kept under `maxRunLogBytes` of serialised JSON. */
export class RunLog {
  readonly entries: StepLogEntry[] = [];
  #bytes = 2;

  constructor(private readonly maxBytes: number) {}

  /** Records a step's output; throws LimitExceededError when that would pass the cap. */
  succeeded(entry: EntryWithoutResult, output: StepOutput, outputBytes: number): void {
    const withResult: StepLogEntry = { ...entry, status: 'succeeded', output: output.value };
    const bytes =
      metadataBytes({ ...entry, status: 'succeeded' }) + OUTPUT_FIELD_BYTES + outputBytes;
    if (this.#bytes + bytes > this.maxBytes) {
      throw new LimitExceededError(
        'maxRunLogBytes',
        `run log would grow past maxRunLogBytes (${this.maxBytes} bytes)`,
      );
    }
    this.#bytes += bytes;
    this.entries.push(withResult);
  }

  /** Records a failure. Never throws: a failure must always be visible in the log. */
  failed(entry: EntryWithoutResult, error: string): void {
    const withResult: StepLogEntry = { ...entry, status: 'failed', error };
    this.#bytes += metadataBytes(withResult) + 1;
    this.entries.push(withResult);
  }
}

function metadataBytes(entry: Omit<StepLogEntry, 'output'>): number {
  return Buffer.byteLength(JSON.stringify(entry));
}
