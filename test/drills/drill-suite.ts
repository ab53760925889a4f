/**
 * Runs alarm drills against one local stack booted for the calling test file. Every drillable alarm of the
 * catalog is covered by exactly one drill file (test/drills/*.test.ts); drills.test.ts checks that.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDrill } from '../../local/drills.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';

/** One minute of alarm time per second: a 3-period alarm fires within seconds. */
export const DRILL_TIME_SCALE = 60;

export function drillSuite(alarmIds: readonly string[]): void {
  let stack: BootedStack;
  beforeAll(async () => {
    stack = await bootDevStack({ timeScale: DRILL_TIME_SCALE });
  });
  afterAll(async () => {
    await stack?.close();
  });
  for (const id of alarmIds) {
    it(`${id} fires under its fault and recovers when it clears`, { timeout: 150_000 }, async () => {
      const result = await runDrill(stack, id);
      expect(stack.alarms.statuses.get(result.alarm)?.history.map((h) => h.state)).toEqual(expect.arrayContaining(['ALARM', 'OK']));
      expect(result.firedAfterMs).toBeGreaterThan(0);
    });
  }
}
