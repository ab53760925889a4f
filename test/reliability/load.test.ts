/**
 * The CI variant of `npm run load`: 100 clients, 1,000 sends with clientMsgIds over uneven rooms in 30 s (the
 * full run's rate, 33 sends/s, for half a minute), then the exactly-once and history verification. The
 * full run (1,000 clients, 20,000 sends) is bench/load.ts.
 */
import { expect, it } from 'vitest';
import { runLoad } from '../../bench/load-harness.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';

const { stack } = useStack(() => bootDevStack());

it('delivers every acknowledged message exactly once to every member and keeps contiguous history', { timeout: 600_000 }, async () => {
  const report = await runLoad({
    url: stack.url,
    tokenFor: (user) => stack.tokenFor(user),
    clients: 100,
    rooms: 10,
    bigRoomMembers: 50,
    sends: 1000,
    bigRoomShare: 0.1,
    spreadMs: 30_000,
  });
  console.log(JSON.stringify({ ...report, violations: report.violations.length, firstViolations: report.violations.slice(0, 8) }));
  expect(report.violations).toEqual([]);
  expect(report.acked).toBe(1000);
  expect(report.gaveUp).toBe(0);
  expect(report.deliveries).toBeGreaterThan(1000);
});
