/**
 * Per-connection token bucket for every route but `send` (which keeps its window, domain/rate-limit.ts), kept as
 * one number per route: the bucket's theoretical arrival time (GCRA). A bucket of `burst` tokens refilled at
 * `ratePerSecond` admits a request at `now` when the arrival time is at most `(burst - 1)` intervals ahead of
 * now, and then moves it one interval on. One number means one conditional write per request, no read.
 */
export interface RouteRate {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Tokens the bucket holds: how many requests may come at once after a quiet spell. */
  readonly burst: number;
}

export const ROUTE_RATE_BOUNDS = {
  ratePerSecond: { min: 0.01, max: 1000 },
  burst: { min: 1, max: 10_000 },
} as const;

/** Milliseconds one token takes to come back. */
export function tokenIntervalMs(rate: RouteRate): number {
  return 1000 / rate.ratePerSecond;
}

/** An arrival time at or before this still leaves a token for a request at `nowMs`. */
export function latestAdmittedArrival(rate: RouteRate, nowMs: number): number {
  return nowMs + (rate.burst - 1) * tokenIntervalMs(rate);
}

/** How long a refused request waits until a token is back (at least 1 ms). */
export function tokenRetryAfterMs(rate: RouteRate, arrivalMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil(arrivalMs - latestAdmittedArrival(rate, nowMs)));
}
