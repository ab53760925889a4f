/**
 * Runs alarm drills against one local stack booted for the calling test file. Every drillable alarm of the
 * catalog is covered by exactly one drill file (test/drills/*.test.ts); drills.test.ts checks that.
 *
 * The stack's page and ticket topics are subscribed to a local HTTP receiver, as PagerDuty's event URL would
 * be: each drill proves its alarm went OK → ALARM → OK, and that the notification reached the receiver (a page
 * exactly once, through the composite page alarm).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ALARM_TARGET_VARIABLES } from '../../infra/config/variables.ts';
import { drillSeverity, isSloTierId, runDrill } from '../../local/drills.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';
import { SnsReceiver } from '../support/sns-receiver.ts';

/** One minute of alarm time per second: a 3-period alarm fires within seconds. */
export const DRILL_TIME_SCALE = 60;

/** `runSchedules`: the stack runs the plan's schedules (the canary), which only the canary's drill needs. */
export function drillSuite(alarmIds: readonly string[], options: { readonly timeScale?: number; readonly runSchedules?: boolean } = {}): void {
  let stack: BootedStack;
  const receiver = new SnsReceiver();
  beforeAll(async () => {
    await receiver.listen();
    stack = await bootDevStack({
      timeScale: options.timeScale ?? DRILL_TIME_SCALE,
      runSchedules: options.runSchedules,
      variables: {
        [ALARM_TARGET_VARIABLES.page.httpsEndpoints]: [receiver.url('/page')],
        [ALARM_TARGET_VARIABLES.ticket.httpsEndpoints]: [receiver.url('/ticket')],
      },
    });
    // The receiver confirms both subscriptions as PagerDuty would, before any drill may page.
    await vi.waitFor(
      () => {
        const confirmed = stack.sns.targets().filter((t) => t.protocol === 'https' && t.confirmed).length;
        if (confirmed !== 2) throw new Error(`${confirmed} of 2 HTTPS subscriptions confirmed`);
      },
      { timeout: 30_000, interval: 100 },
    );
  });
  afterAll(async () => {
    await stack?.close();
    await receiver.close();
  });
  for (const id of alarmIds) {
    // A large-room drill first fills a room of 200+ connections; on a busy machine that alone takes a minute. An
    // SLO tier's long window is a minute at this time scale, and the drill waits it out up to three times: a
    // quiet page (after an earlier drill on the stack), healthy traffic, the burn leaving the window.
    it(`${id} goes OK → ALARM under its fault → OK when it clears, and notifies`, { timeout: isSloTierId(id) ? 480_000 : 300_000 }, async () => {
      // Each phase is printed, so a drill that runs out of time shows where it was.
      const result = await runDrill(stack, id, (line) => console.log(`[drill] ${line}`));
      const since = (h: { at: number }) => h.at >= result.injectedAt;
      const states = (stack.alarms.statuses.get(result.alarm)?.history ?? []).filter(since).map((h) => h.state);
      expect(states[0]).toBe('ALARM');
      expect(states.at(-1)).toBe('OK');
      expect(result.firedAfterMs).toBeGreaterThan(0);
      if (drillSeverity(id) === 'page') {
        expect(result.composites.length).toBeGreaterThan(0);
        for (const composite of result.composites) {
          // The OK notification comes after the ALARM one: once it is here, every ALARM of this incident is too.
          await expect.poll(() => receiver.received('/page', composite, 'OK').filter(since).length).toBeGreaterThan(0);
          const pages = receiver.received('/page', composite, 'ALARM').filter(since);
          expect(pages.map((n) => n.alarm.NewStateReason), 'the pages this drill sent, with the members that raised each').toHaveLength(1);
        }
        // Members notify only through the composite: one page per incident.
        expect(receiver.notifications.filter((n) => n.alarm.AlarmName === result.alarm)).toEqual([]);
      } else {
        await expect.poll(() => receiver.received('/ticket', result.alarm, 'OK').filter(since).length).toBeGreaterThan(0);
        expect(receiver.received('/ticket', result.alarm, 'ALARM').filter(since).length).toBeGreaterThan(0);
      }
    });
  }
}
