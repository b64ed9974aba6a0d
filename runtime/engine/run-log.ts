import { previewText } from '../db/storable-text';
import { LimitExceededError } from './errors/limit-exceeded-error';
import type { StepOutput } from './run-scope';
import type { InputTruncated, StepLogEntry } from './types';

type EntryWithoutResult = Omit<
  StepLogEntry,
  'status' | 'input' | 'inputTruncated' | 'output' | 'error'
>;

/** A step's resolved input with its JSON, serialised once by the step that resolved it. */
export type StepInput = StepOutput;

/** Inputs whose JSON is larger than this are kept as a preview (see InputTruncated). */
export const MAX_WHOLE_INPUT_BYTES = 16 * 1024;
/** UTF-16 units of a folded input's JSON kept as its preview. */
export const INPUT_PREVIEW_CHARS = 1024;

// `,"output":` plus the comma between entries.
const OUTPUT_FIELD_BYTES = 11;
// `,"input":`
const INPUT_FIELD_BYTES = 9;
// `,"inputTruncated":`
const TRUNCATED_FIELD_BYTES = 18;

type InputFields = Pick<StepLogEntry, 'input' | 'inputTruncated'>;

/** An entry carrying an input (whole, preview or bare marker) that may give way. */
interface KeptInput {
  readonly entry: StepLogEntry;
  cost: number;
}

/**
 * The run's step log, kept under `maxBytes` of serialised JSON, inputs included. Results come
 * first: when a step's result would pass the cap, the inputs kept so far give way, oldest first
 * (first to a bare marker, then to nothing), and the run fails only when the results alone pass
 * it. So recording inputs never fails a run that would succeed without them.
 */
export class RunLog {
  readonly entries: StepLogEntry[] = [];
  #bytes = 2;
  readonly #kept: KeptInput[] = [];
  /** How many of #kept, in order, are down to a bare marker, and how many are gone. */
  #bare = 0;
  #dropped = 0;

  constructor(
    private readonly maxBytes: number,
    /** Replaces secrets in a folded input's JSON before it is cut, so no half secret is kept. */
    private readonly redact: (text: string) => string = (text) => text,
  ) {}

  /** Records a step's output; throws LimitExceededError when the result would pass the cap. */
  succeeded(
    entry: EntryWithoutResult,
    output: StepOutput,
    outputBytes: number,
    input: StepInput | null,
  ): void {
    const bytes =
      metadataBytes({ ...entry, status: 'succeeded' }) + OUTPUT_FIELD_BYTES + outputBytes;
    if (this.#bytes + bytes > this.maxBytes) this.#makeRoom(this.#bytes + bytes - this.maxBytes);
    if (this.#bytes + bytes > this.maxBytes) {
      throw new LimitExceededError(
        'maxRunLogBytes',
        `run log would grow past maxRunLogBytes (${this.maxBytes} bytes)`,
      );
    }
    this.#bytes += bytes;
    // A respond step's input is its output: its size is known already.
    const kept =
      input === null
        ? null
        : this.#inputFields(input, input === output ? outputBytes : Buffer.byteLength(input.json));
    this.#push({ ...entry, status: 'succeeded', ...kept?.fields, output: output.value }, kept);
  }

  /** Records a failure. Never throws: a failure must always be visible in the log. */
  failed(entry: EntryWithoutResult, error: string, input: StepInput | null): void {
    this.#bytes += metadataBytes({ ...entry, status: 'failed', error }) + 1;
    const kept = input === null ? null : this.#inputFields(input, Buffer.byteLength(input.json));
    this.#push({ ...entry, status: 'failed', ...kept?.fields, error }, kept);
  }

  #push(entry: StepLogEntry, kept: { cost: number } | null): void {
    this.entries.push(entry);
    if (kept === null) return;
    this.#bytes += kept.cost;
    this.#kept.push({ entry, cost: kept.cost });
  }

  /** The input whole when it is small and fits, else the largest marker that fits, else none. */
  #inputFields(input: StepInput, bytes: number): { fields: InputFields; cost: number } | null {
    const room = this.maxBytes - this.#bytes;
    const wholeCost = INPUT_FIELD_BYTES + bytes;
    if (bytes <= MAX_WHOLE_INPUT_BYTES && wholeCost <= room) {
      return { fields: { input: input.value }, cost: wholeCost };
    }
    const marker: InputTruncated = Array.isArray(input.value)
      ? { bytes, items: input.value.length }
      : { bytes };
    if (bytes > MAX_WHOLE_INPUT_BYTES) {
      const preview = `${previewText(this.redact(input.json), INPUT_PREVIEW_CHARS)}…`;
      const folded = { ...marker, preview };
      const cost = markerCost(folded);
      if (cost <= room) return { fields: { inputTruncated: folded }, cost };
    }
    const cost = markerCost(marker);
    return cost <= room ? { fields: { inputTruncated: marker }, cost } : null;
  }

  /** Frees at least `needed` bytes when the kept inputs hold that many. */
  #makeRoom(needed: number): void {
    let freed = 0;
    for (; this.#bare < this.#kept.length && freed < needed; this.#bare++) {
      const kept = this.#kept[this.#bare] as KeptInput;
      const { entry } = kept;
      let bare: InputTruncated;
      if ('input' in entry) {
        bare = { bytes: kept.cost - INPUT_FIELD_BYTES };
        if (Array.isArray(entry.input)) bare.items = entry.input.length;
        delete entry.input;
      } else if (entry.inputTruncated?.preview !== undefined) {
        const { preview: _preview, ...rest } = entry.inputTruncated;
        bare = rest;
      } else continue;
      entry.inputTruncated = bare;
      const cost = markerCost(bare);
      freed += kept.cost - cost;
      kept.cost = cost;
    }
    for (; this.#dropped < this.#bare && freed < needed; this.#dropped++) {
      const kept = this.#kept[this.#dropped] as KeptInput;
      delete kept.entry.inputTruncated;
      freed += kept.cost;
      kept.cost = 0;
    }
    this.#bytes -= freed;
  }
}

function markerCost(marker: InputTruncated): number {
  return TRUNCATED_FIELD_BYTES + Buffer.byteLength(JSON.stringify(marker));
}

function metadataBytes(entry: Omit<StepLogEntry, 'output'>): number {
  return Buffer.byteLength(JSON.stringify(entry));
}
