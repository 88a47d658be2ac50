import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The machines have two cores; more workers only add contention for the end-to-end tests.
    maxWorkers: 2,
  },
});
