/**
 * The reconnect storm's correctness path at a small size (`npm run bench -- storm` runs it at 5,000): clients of
 * several rooms dropped at once by the gateway come back through the client library, and every one of them
 * delivers every message of its room exactly once, those sent while it was down included. The clients run in the
 * test's process with the stack (`inProcessStormStack`): the bench moves them out to keep their CPU off the stack's
 * main thread, which matters to its timings, not to this test's correctness.
 */
import { describe, expect, it } from 'vitest';
import { inProcessStormStack, runStorm } from '../../bench/storm-harness.ts';
import { connectionsPerUserInPlan } from '../../local/crowd.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';

const { stack } = useStack(() => bootDevStack());

describe('a reconnect storm', () => {
  it('brings 50 dropped clients back, each caught up, none losing or repeating a message', { timeout: 300_000 }, async () => {
    const perUser = connectionsPerUserInPlan(stack);
    const report = await runStorm(inProcessStormStack(stack), { clients: 50, usersPerRoom: 2, timeoutMs: 120_000, setupTimeoutMs: 120_000 });
    expect(report.audit.examples).toEqual([]);
    expect(report, JSON.stringify(report)).toMatchObject({
      clients: 50,
      users: Math.ceil(50 / perUser),
      rooms: Math.ceil(50 / perUser / 2),
      dropped: 50,
      notBack: 0,
      notCaughtUp: 0,
      audit: { lost: 0, duplicated: 0, foreign: 0 },
      complete: true,
    });
    expect(report.messages.sendsFailed).toBe(0);
    // Every client opened a new connection through the library after the drop.
    expect(report.handshakes.attempts).toBeGreaterThanOrEqual(50);
    expect(report.messages).toMatchObject({ beforeDrop: report.rooms * 2, duringStorm: report.rooms * 3 });
  });
});
