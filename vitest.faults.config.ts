import { defineConfig } from 'vitest/config';

// `npm run test:faults`: each file starts a broker of its own (test/support/own-broker.ts) and
// stops, kills or starves it, so there is no shared broker. Files run one at a time: they restart
// brokers and services on a 2-core machine, and their figures (bench/results/faults.*) must not
// be measured under each other's load.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
