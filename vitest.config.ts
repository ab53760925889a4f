import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Suites boot servers and real terraform; forks keep their ports, workers and env apart.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
