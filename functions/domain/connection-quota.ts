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

/**
 * How long after claiming its slot a connection may still be in its handshake. API Gateway opens a connection
 * only once `$connect` has answered, so until then `@connections` GET says 410 for a connection about to open; a
 * holder claimed more recently than this is never taken for gone. The claim is made inside `$connect`, which times
 * out after 10 s: 30 s leaves room for the rest of a slow invocation and API Gateway's step after it.
 */
export const HANDSHAKE_SETTLED_MS = 30_000;

/** A connection holding one of a user's slots, as the slots and connections tables record it. */
export interface SlotHolder {
  readonly slot: number;
  readonly connectionId: string;
  /** Epoch ms, on the functions' clock, when the holder's `$connect` claimed the slot. */
  readonly claimedAt: number;
  /**
   * Whether the holder's connection item is still there. `$connect` writes it before claiming, so a holder without
   * one has left (its `$disconnect` ran, or a fan-out found it gone) and its slot may be taken without asking.
   */
  readonly hasItem: boolean;
}

/** A stable index below `n` for `text` (FNV-1a): spreads racing writers over a list without coordination. */
export function spreadIndex(text: string, n: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % n;
}

/**
 * The list from a place spread by `connectionId`, wrapping round: handshakes of one user racing each other start at
 * different places, so they rarely write the same slot in step.
 */
export function rotated<T>(list: readonly T[], connectionId: string): T[] {
  if (list.length === 0) return [];
  const start = spreadIndex(connectionId, list.length);
  return [...list.slice(start), ...list.slice(0, start)];
}

/**
 * The holders whose slot a handshake may try to take over, in the order it tries: first those without a connection
 * item, then those whose handshake has settled (the handshake asks `@connections` about these). Each group starts
 * at a place spread by the new connection's id, so a user's reconnects racing each other try different holders
 * instead of all queueing for the first.
 */
export function takeoverCandidates(holders: readonly SlotHolder[], connectionId: string, nowMs: number): SlotHolder[] {
  const settled = holders.filter((holder) => holder.hasItem && nowMs - holder.claimedAt >= HANDSHAKE_SETTLED_MS);
  return [...rotated(holders.filter((holder) => !holder.hasItem), connectionId), ...rotated(settled, connectionId)];
}
