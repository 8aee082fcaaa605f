import { defineConfig } from 'vitest/config';

// One broker for the whole run: test/support/global-setup.ts starts a fresh local Kafka
// (TEST_KAFKA_PORT, default 19092) and tests get its address with testBrokers() from
// test/support/kafka.ts. Unit tests (test/unit/**) must not need it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault tests restart and kill brokers of their own: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ['test/faults/**', '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Integration tests talk to a real broker on a small machine: be generous.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 60_000,
  },
});
