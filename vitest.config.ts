import { defineConfig } from 'vitest/config';

/**
 * Three projects, run together in one pool so waiting suites overlap:
 * - slow: real terraform, headless Chromium and the drills (mostly waiting on other processes);
 * - stack: each file boots the synthesized dev plan on the local stack;
 * - unit: everything else (pure domain and use-case tests, catalogs, plan reading, stores on dynalite);
 * - load: the CI-sized load run and the 50-client reconnect storm, after all of them, alone.
 */
const SLOW = [
  'test/terraform/**/*.test.ts',
  'test/local/chat-page.test.ts',
  'test/local/dashboard-page.test.ts',
  'test/reliability/shutdown.test.ts',
  // Every drill file (and the drill catalog's test, which is quick): a new drill file cannot land in the unit pool.
  'test/drills/*.test.ts',
  'test/infra/synth.test.ts',
];
// The storm's clients must be back within its 120 s on the wall clock, as the load run's acks within theirs.
const LOAD = ['test/reliability/load.test.ts', 'test/e2e/storm.test.ts'];
const STACK = [
  'test/e2e/**/*.test.ts',
  'test/hostile/**/*.test.ts',
  'test/reliability/{faults,dynamodb-outage}.test.ts',
  'test/client/{chat-client,cli-process}.test.ts',
  'test/fidelity/{connection-lifetime,environment-budget,gateway-limits,iam,lambda,sqs,teardown,throttling}.test.ts',
  'test/apply-rules/logs-insights.test.ts',
  // Boots the stack in a child process, as the storm bench does.
  'test/bench/storm-stack.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // Suites boot servers and real terraform; forks keep their ports, workers and env apart.
    pool: 'forks',
    // Two cores: most files wait on sockets, terraform or Chromium, so a third worker fills the waits.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // A poll returns as soon as its condition holds: its deadline only bounds a real failure, and a cold start on
    // a busy machine can outlast vitest's 1 s default.
    expect: { poll: { timeout: 30_000 } },
    reporters: ['default', './test/support/project-durations.ts'],
    projects: [
      // The load run and the storm judge timeouts on the wall clock: they run last, alone, so the other files' CPU is not their noise.
      { extends: true, test: { name: 'load', include: LOAD, exclude: [], sequence: { groupOrder: 1 }, maxWorkers: 1 } },
      { extends: true, test: { name: 'slow', include: SLOW } },
      { extends: true, test: { name: 'stack', include: STACK, exclude: LOAD } },
      // Unit files share their worker's module cache (no isolation): each file re-importing the SDK, cdktf and the
      // catalogs cost a third of the project's CPU, and none of them mocks a module or leaves a global behind.
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...SLOW, ...STACK, ...LOAD], isolate: false } },
    ],
  },
});
