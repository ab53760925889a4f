/**
 * Presence is per user, not per connection: a user is present in a room while at least one of their
 * connections is a live member. One record per (room, user) holds those connections, so a single
 * conditional write decides whether a join was the user's first or a leave their last.
 */
import { connectionExpiresAt, isExpired } from './lifetime.ts';

export interface PresenceRecord {
  /** connectionId → epoch seconds after which that connection cannot be open any more. */
  readonly connections?: Readonly<Record<string, number>>;
  /** Epoch seconds; the whole record is dead past it even if DynamoDB TTL has not deleted it yet. */
  readonly expiresAt?: number;
}

/** Whether any connection in the record is still live at `nowMs`. */
export function isPresent(record: PresenceRecord | undefined, nowMs: number): boolean {
  if (!record || isExpired(record.expiresAt, nowMs)) return false;
  return Object.values(record.connections ?? {}).some((expiresAt) => !isExpired(expiresAt, nowMs));
}

/** A presence record written at `nowMs` outlives every connection that can be open then, and no more. */
export function presenceRecordExpiresAt(nowMs: number): number {
  return connectionExpiresAt(nowMs);
}
