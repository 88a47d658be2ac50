import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Vite picks the ESM one for our code while
    // Yoga and Pothos load the CJS one in Node, and graphql refuses a schema "from
    // another realm". One build for everybody: the one Node itself resolves.
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when a source is newer: process tests run the compiled server.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Three on the two-core machines: most files wait on servers, sockets and child
    // processes rather than compute. Measured on a quiet machine at 63bdde5: 335 s with
    // two workers, 273 s with three; with four CPU-bound processes beside it the suite
    // passes either way (docs/development.md).
    maxWorkers: 3,
  },
});
