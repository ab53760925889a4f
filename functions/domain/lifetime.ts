/** How long records of a connection live: API Gateway closes every connection after 2 hours at most. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
/** API Gateway closes a connection after 10 minutes without a frame. */
export const IDLE_CONNECTION_SECONDS = 10 * 60;
/** Margin so a record never expires while its connection may still be open. */
const EXPIRY_MARGIN_SECONDS = 5 * 60;
/** How long a clientMsgId is remembered: clients retry within minutes, not days. */
export const IDEMPOTENCY_SECONDS = 24 * 60 * 60;
/** A send claim outlives the 29 s integration timeout, so its owner cannot still be writing after it. */
export const SEND_LEASE_MS = 30_000;

/** The latest a connection opened at `connectedAtMs` can still be open (plus margin), in epoch seconds. */
export function connectionExpiresAt(connectedAtMs: number): number {
  return Math.floor(connectedAtMs / 1000) + MAX_CONNECTION_SECONDS + EXPIRY_MARGIN_SECONDS;
}

/**
 * Expiry of the connection item after the client was last heard from (connect, ping, send): a connection
 * silent for longer than the idle timeout is closed, so its item may go — but never later than the 2 hour cap.
 */
export function connectionRecordExpiresAt(connectedAtMs: number, lastSeenMs: number): number {
  const idleExpiry = Math.floor(lastSeenMs / 1000) + IDLE_CONNECTION_SECONDS + EXPIRY_MARGIN_SECONDS;
  return Math.min(idleExpiry, connectionExpiresAt(connectedAtMs));
}

export function isExpired(expiresAtSeconds: number | undefined, nowMs: number): boolean {
  return expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMs;
}
