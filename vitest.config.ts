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
    // The machines have two cores; more workers only add contention for the end-to-end tests.
    maxWorkers: 2,
  },
});
