import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    // Two cores: files that spawn processes or synth CDK must not starve each other.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
