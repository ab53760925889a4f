/**
 * The functions' clock a test can stop and move. Its effect inside the environments (Date read from shared memory)
 * is shown end to end by the client's rate-limit test (test/client/chat-client.test.ts), where a refused send is
 * refused again after waiting the server's retryAfterMs only because the functions' clock stood still.
 */
import { expect, it } from 'vitest';
import { FunctionClock, installFunctionClock } from '../../local/lambda/function-clock.ts';

it('runs with real time until stopped, then moves only when advanced, and runs on from there when resumed', async () => {
  const clock = new FunctionClock();
  expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
  clock.stop();
  const stoppedAt = clock.now();
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(clock.now()).toBe(stoppedAt);
  clock.advance(60_000);
  expect(clock.now()).toBe(stoppedAt + 60_000);
  clock.resume();
  expect(clock.now()).toBeGreaterThanOrEqual(stoppedAt + 60_000);
  clock.advance(5);
  expect(clock.now()).toBeGreaterThanOrEqual(stoppedAt + 60_005);
});

it('refuses to move backwards or by fractions', () => {
  const clock = new FunctionClock();
  expect(() => clock.advance(-1)).toThrow(/forward by whole ms; got -1/);
  expect(() => clock.advance(0.5)).toThrow(/forward by whole ms; got 0.5/);
});

it('replaces Date in the environment it is installed in: now(), new Date() and Date() read it; dates given are kept', () => {
  const clock = new FunctionClock();
  clock.stop();
  clock.advance(3_600_000);
  const RealDate = Date;
  try {
    installFunctionClock(clock.buffer);
    expect(Date.now()).toBe(clock.now());
    expect(new Date().getTime()).toBe(clock.now());
    expect((Date as unknown as () => string)()).toBe(new RealDate(clock.now()).toString());
    expect(new Date(0).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(new Date() instanceof RealDate).toBe(true);
  } finally {
    globalThis.Date = RealDate;
  }
});
