/** How long records of a connection live: API Gateway closes every connection after 2 hours at most. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
/** Margin so a record never expires while its connection may still be open. */
const EXPIRY_MARGIN_SECONDS = 5 * 60;
/** How long a clientMsgId is remembered: clients retry within minutes, not days. */
export const IDEMPOTENCY_SECONDS = 24 * 60 * 60;
/** A send claim outlives the 29 s integration timeout, so its owner cannot still be writing after it. */
export const SEND_LEASE_MS = 30_000;

export function connectionExpiresAt(connectedAtMs: number): number {
  return Math.floor(connectedAtMs / 1000) + MAX_CONNECTION_SECONDS + EXPIRY_MARGIN_SECONDS;
}

export function isExpired(expiresAtSeconds: number | undefined, nowMs: number): boolean {
  return expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= nowMs;
}
