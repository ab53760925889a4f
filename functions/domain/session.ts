/**
 * A connection's session ends with its token: API Gateway checks the token only at the handshake and would keep
 * the connection open for up to 2 hours, so the service closes it once the token has been expired for
 * SESSION_GRACE_SECONDS (the grace lets a client finish what it is doing and reconnect with a fresh token).
 */
export const SESSION_GRACE_SECONDS = 5 * 60;

/** When (epoch seconds) the session of a connection whose token expires at `tokenExpiresAt` ends. */
export function sessionEndsAt(tokenExpiresAt: number): number {
  return tokenExpiresAt + SESSION_GRACE_SECONDS;
}

/** Whether a connection whose token expires at `tokenExpiresAt` (epoch seconds) must be closed at `nowMs`. */
export function sessionEnded(tokenExpiresAt: number | undefined, nowMs: number): boolean {
  return tokenExpiresAt !== undefined && sessionEndsAt(tokenExpiresAt) * 1000 <= nowMs;
}
