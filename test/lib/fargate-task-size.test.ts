import { describe, expect, it } from 'vitest';
import { validateFargateTaskSize } from '../../lib/fargate-task-size';

const NAMES = { cpu: 'workerCpu', memoryMiB: 'workerMemoryMiB' };

describe('validateFargateTaskSize', () => {
  it.each([
    [256, 512],
    [512, 4096],
    [1024, 2048],
    [4096, 30720],
  ])('accepts %i CPU with %i MiB', (cpu, memory) => {
    expect(() => validateFargateTaskSize(NAMES, cpu, memory)).not.toThrow();
  });

  it('rejects a CPU size Fargate does not offer, naming the prop', () => {
    expect(() => validateFargateTaskSize(NAMES, 300, 512)).toThrow(
      'workerCpu must be one of 256, 512, 1024, 2048, 4096 (got 300)',
    );
  });

  it('rejects memory outside the list for 256 CPU units', () => {
    expect(() => validateFargateTaskSize(NAMES, 256, 4096)).toThrow(
      'workerMemoryMiB must be one of 512, 1024, 2048 for workerCpu 256 (got 4096)',
    );
  });

  it('rejects memory outside the range for larger sizes', () => {
    expect(() => validateFargateTaskSize(NAMES, 1024, 1024)).toThrow(
      'workerMemoryMiB must be a multiple of 1024 from 2048 to 8192 for workerCpu 1024 (got 1024)',
    );
  });
});
