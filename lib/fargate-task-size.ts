/** CPU units Fargate accepts for Linux tasks (8192 and 16384 need newer platform rules). */
export const FARGATE_CPU_UNITS = [256, 512, 1024, 2048, 4096] as const;

/** Memory (MiB) Fargate accepts for each CPU size: an explicit list, or a 1 GiB-step range. */
const MEMORY_MIB_BY_CPU: Readonly<Record<number, { min: number; max: number } | number[]>> = {
  256: [512, 1024, 2048],
  512: { min: 1024, max: 4096 },
  1024: { min: 2048, max: 8192 },
  2048: { min: 4096, max: 16384 },
  4096: { min: 8192, max: 30720 },
};

/** The names the caller's props use, so errors point at what the user typed. */
export interface TaskSizePropNames {
  readonly cpu: string;
  readonly memoryMiB: string;
}

/** Throws, naming the prop and the value, unless cpu/memory is a valid Fargate task size. */
export function validateFargateTaskSize(
  names: TaskSizePropNames,
  cpu: number,
  memoryMiB: number,
): void {
  const allowed = MEMORY_MIB_BY_CPU[cpu];
  if (allowed === undefined) {
    throw new Error(`${names.cpu} must be one of ${FARGATE_CPU_UNITS.join(', ')} (got ${cpu})`);
  }
  if (Array.isArray(allowed)) {
    if (!allowed.includes(memoryMiB)) {
      throw new Error(
        `${names.memoryMiB} must be one of ${allowed.join(', ')} for ${names.cpu} ${cpu} (got ${memoryMiB})`,
      );
    }
    return;
  }
  if (memoryMiB < allowed.min || memoryMiB > allowed.max || memoryMiB % 1024 !== 0) {
    throw new Error(
      `${names.memoryMiB} must be a multiple of 1024 from ${allowed.min} to ${allowed.max} for ${names.cpu} ${cpu} (got ${memoryMiB})`,
    );
  }
}
