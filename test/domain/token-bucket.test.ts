import { describe, expect, it } from 'vitest';
import { ENV, routeRateFromEnv } from '../../functions/catalog/env.ts';
import { latestAdmittedArrival, tokenIntervalMs, tokenRetryAfterMs, type RouteRate } from '../../functions/domain/token-bucket.ts';

const rate: RouteRate = { ratePerSecond: 2, burst: 20 };
const NOW = 1_700_000_000_000;

describe('route token bucket (GCRA)', () => {
  it('refills one token per interval', () => {
    expect(tokenIntervalMs(rate)).toBe(500);
    expect(tokenIntervalMs({ ratePerSecond: 0.5, burst: 1 })).toBe(2000);
  });

  it('admits while the arrival time is at most burst - 1 intervals ahead', () => {
    expect(latestAdmittedArrival(rate, NOW)).toBe(NOW + 19 * 500);
    expect(latestAdmittedArrival({ ratePerSecond: 1, burst: 1 }, NOW)).toBe(NOW);
  });

  it('asks a refused request to wait until the next token, never less than 1 ms', () => {
    expect(tokenRetryAfterMs(rate, NOW + 20 * 500, NOW)).toBe(500);
    expect(tokenRetryAfterMs(rate, NOW + 19 * 500, NOW)).toBe(1);
    expect(tokenRetryAfterMs({ ratePerSecond: 3, burst: 1 }, NOW + 1000, NOW)).toBe(1000);
  });
});

describe('routeRateFromEnv', () => {
  it('is absent when the function has no bucket', () => {
    expect(routeRateFromEnv({})).toBeUndefined();
  });

  it('reads ROUTE_RATE_PER_SECOND (fractions allowed) and ROUTE_RATE_BURST', () => {
    expect(routeRateFromEnv({ [ENV.routeRatePerSecond]: '0.5', [ENV.routeRateBurst]: '3' })).toEqual({ ratePerSecond: 0.5, burst: 3 });
  });

  it.each([
    [{ [ENV.routeRatePerSecond]: '2' }, /ROUTE_RATE_BURST is required/],
    [{ [ENV.routeRateBurst]: '2' }, /ROUTE_RATE_PER_SECOND must be a number/],
    [{ [ENV.routeRatePerSecond]: '-1', [ENV.routeRateBurst]: '2' }, /ROUTE_RATE_PER_SECOND must be a number/],
    [{ [ENV.routeRatePerSecond]: '2', [ENV.routeRateBurst]: '0' }, /ROUTE_RATE_BURST must be an integer/],
  ])('fails the cold start on a half or bad setting %j', (env, message) => {
    expect(() => routeRateFromEnv(env)).toThrow(message);
  });
});
