/**
 * Connections per user: a user holds at most the stage's number of open connections, each in a numbered slot
 * (0 .. limit-1) claimed with a single-item conditional write, so two handshakes can never take the same slot.
 */
export const CONNECTIONS_PER_USER_BOUNDS = { min: 1, max: 100 } as const;

/** What the stage allows when it configures nothing else. */
export const CONNECTIONS_PER_USER_DEFAULT = 10;

/**
 * The handshake status of a refused connection. API Gateway answers a `$connect` with its integration's status
 * code, so this is what the client sees: 429, because the refusal ends when one of the user's other connections
 * closes (retry later), not an authentication failure (401/403).
 */
export const TOO_MANY_CONNECTIONS_STATUS = 429;
