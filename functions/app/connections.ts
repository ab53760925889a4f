import { takeoverCandidates, type SlotHolder } from '../domain/connection-quota.ts';
import { connectionRecordExpiresAt } from '../domain/lifetime.ts';
import type { Caller, Deps } from './context.ts';
import { removeConnection } from './departures.ts';
import { broadcastPresence } from './fanout.ts';

/** A $connect refused: the user already holds the stage's connections per user. */
export const TOO_MANY_CONNECTIONS = 'too-many-connections';
/** The WARN line of a refused $connect. */
export const CONNECTION_REFUSED_LOG = 'connection refused: too many connections';
/** The WARN line of a slot holder `@connections` could not be asked about (the handshake is refused). */
export const SLOT_LOOKUP_FAILED_LOG = 'connection slot holder lookup failed: not taken over';

export async function openConnection(deps: Deps, caller: Caller): Promise<typeof TOO_MANY_CONNECTIONS | undefined> {
  // The item goes first: a slot whose holder has no item is taken to be abandoned and may be taken over.
  await deps.store.putConnection({
    connectionId: caller.connectionId,
    userId: caller.userId,
    connectedAt: caller.connectedAt,
    expiresAt: connectionRecordExpiresAt(caller.connectedAt, caller.connectedAt),
  });
  const claim = await deps.store.claimConnectionSlot(caller, deps.connectionsPerUser, caller.nowMs);
  if (claim !== true && !(await takeOverGoneHolder(deps, caller, claim))) {
    await deps.store.deleteConnection(caller.connectionId);
    deps.telemetry.count('ConnectionsRefused');
    // The line carries the userId (a correlation key): the connections-refused runbook counts refusals by it.
    deps.telemetry.warn(CONNECTION_REFUSED_LOG, { connectionsPerUser: deps.connectionsPerUser });
    return TOO_MANY_CONNECTIONS;
  }
  deps.telemetry.count('ConnectionsOpened');
  return undefined;
}

/**
 * Every slot is held. A holder without a connection item has left, and its slot is taken over at once. One with an
 * item may still be gone: after a network blip the `$disconnect`s are queued, late or lost (API Gateway runs them
 * best effort), so `@connections` is asked whether it is open. A holder still in its handshake is not asked (it is
 * gone until `$connect` answers), and an answer that is neither open nor gone takes nothing: a live connection is
 * never evicted on a guess.
 */
async function takeOverGoneHolder(deps: Deps, caller: Caller, holders: readonly SlotHolder[]): Promise<boolean> {
  for (const holder of takeoverCandidates(holders, caller.connectionId, caller.nowMs)) {
    try {
      if (holder.hasItem && (await deps.notifier.isOpen(holder.connectionId))) continue;
    } catch (error) {
      deps.telemetry.warn(SLOT_LOOKUP_FAILED_LOG, { holder: holder.connectionId, error: String(error) });
      return false;
    }
    // Losing the write means the holder left or a racing handshake took the slot: the next one may do.
    if (await deps.store.takeOverConnectionSlot(caller, holder, caller.nowMs)) return true;
  }
  return false;
}

/** A ping: the client is alive, so its connection item's lastSeen and expiry move forward. */
export async function heartbeat(deps: Deps, caller: Caller): Promise<void> {
  await deps.store.touchConnection(caller, caller.nowMs);
}

/** $disconnect: removes the connection and tells each room it was the user's last connection in. */
export async function closeConnection(deps: Deps, caller: Caller): Promise<void> {
  const { departures } = await removeConnection(deps.store, caller, caller.nowMs);
  await deps.store.releaseConnectionSlot(caller);
  deps.telemetry.count('ConnectionsClosed');
  await Promise.all(departures.map((d) => broadcastPresence(deps, d.room, d.userId, 'leave', caller.nowMs)));
}
