/**
 * Message retention: every message carries the epoch second after which it is gone (the messages table's TTL
 * attribute). DynamoDB deletes expired items lazily (within days), so every read also treats them as gone.
 */
import { isExpired } from './lifetime.ts';

const DAY_SECONDS = 24 * 60 * 60;

/** Stage setting, in days: at least a day (history a reconnecting client catches up on), at most ten years. */
export const MESSAGE_RETENTION_DAYS_BOUNDS = { min: 1, max: 3650 } as const;

/**
 * The functions' setting, in seconds (env MESSAGE_RETENTION_SECONDS): finer than the stage's days so a test can
 * run a plan whose messages expire within a minute; never longer than the stage setting allows.
 */
export const MESSAGE_RETENTION_SECONDS_BOUNDS = { min: 1, max: MESSAGE_RETENTION_DAYS_BOUNDS.max * DAY_SECONDS } as const;

/** What a function applies when its environment sets nothing: the dev stage's week. */
export const MESSAGE_RETENTION_SECONDS_DEFAULT = 7 * DAY_SECONDS;

export function retentionSecondsOfDays(days: number): number {
  return days * DAY_SECONDS;
}

/** The TTL of a message stored at `tsMs`. */
export function messageExpiresAt(tsMs: number, retentionSeconds: number): number {
  return Math.floor(tsMs / 1000) + retentionSeconds;
}

/** Whether a stored message is still retained at `nowMs` (one stored before messages had a TTL is kept). */
export function isRetained(message: { readonly expiresAt?: number }, nowMs: number): boolean {
  return !isExpired(message.expiresAt, nowMs);
}
