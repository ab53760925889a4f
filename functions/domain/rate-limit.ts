/**
 * Per-connection send rate limit: a fixed window that opens at the first send after the previous window
 * ended and admits `maxSends` sends until `windowMs` later (docs/protocol.md explains the choice).
 */
export interface SendRateLimit {
  readonly maxSends: number;
  readonly windowMs: number;
}

export const SEND_RATE_BOUNDS = {
  maxSends: { min: 1, max: 10_000 },
  windowMs: { min: 1000, max: 60 * 60 * 1000 },
} as const;

/** A window opened at or before this instant has ended at `nowMs`. */
export function windowEndedBy(limit: SendRateLimit, nowMs: number): number {
  return nowMs - limit.windowMs;
}

/** How long a refused sender waits until its window ends (at least 1 ms, so a retry is never immediate). */
export function retryAfterMs(limit: SendRateLimit, windowStart: number, nowMs: number): number {
  return Math.max(1, windowStart + limit.windowMs - nowMs);
}

/** Whether a window still open at `nowMs` has admitted all it may. */
export function isWindowFull(limit: SendRateLimit, window: { start: number; count: number }, nowMs: number): boolean {
  return window.start > windowEndedBy(limit, nowMs) && window.count >= limit.maxSends;
}
