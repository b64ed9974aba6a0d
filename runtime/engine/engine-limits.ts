/** Bounds on what one flow run may use. Units are in the names. */
export interface EngineLimits {
  /** Wall time one code step may run. */
  codeTimeoutMs: number;
  /** Heap of the code sandbox isolate (isolated-vm minimum is 8). */
  codeMemoryMb: number;
  /** Time one HTTP step may take, from connect to the last body byte. */
  httpTimeoutMs: number;
  /** Largest HTTP response body a step may read. */
  httpMaxResponseBytes: number;
  /** Most items a loop step may iterate over. */
  maxLoopIterations: number;
  /** Largest serialised JSON output of one step. */
  maxStepOutputBytes: number;
  /** Largest serialised run log. */
  maxRunLogBytes: number;
  /** Lets HTTP steps reach private and loopback addresses; link-local and metadata stay refused. */
  allowPrivateNetwork: boolean;
}

const MiB = 1024 * 1024;

export const defaultEngineLimits: EngineLimits = Object.freeze({
  codeTimeoutMs: 5000,
  codeMemoryMb: 64,
  httpTimeoutMs: 10_000,
  httpMaxResponseBytes: 5 * MiB,
  maxLoopIterations: 1000,
  maxStepOutputBytes: 1 * MiB,
  maxRunLogBytes: 50 * MiB,
  allowPrivateNetwork: false,
});

/** Fills in defaults and rejects values that cannot work, naming the limit and the value. */
export function resolveEngineLimits(overrides: Partial<EngineLimits> = {}): EngineLimits {
  const limits = { ...defaultEngineLimits, ...overrides };
  for (const key of Object.keys(limits) as (keyof EngineLimits)[]) {
    const value = limits[key];
    if (key === 'allowPrivateNetwork') {
      if (typeof value !== 'boolean')
        throw new TypeError(`${key} must be a boolean (got ${value})`);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${key} must be a positive number (got ${value})`);
    }
  }
  if (limits.codeMemoryMb < 8) {
    throw new RangeError(`codeMemoryMb must be at least 8 (got ${limits.codeMemoryMb})`);
  }
  return limits;
}
