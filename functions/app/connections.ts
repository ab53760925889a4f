import { connectionRecordExpiresAt } from '../domain/lifetime.ts';
import type { Caller, Deps } from './context.ts';
import { removeConnection } from './departures.ts';
import { broadcastPresence } from './fanout.ts';

/** A $connect refused: the user already holds the stage's connections per user. */
export const TOO_MANY_CONNECTIONS = 'too-many-connections';
/** The WARN line of a refused $connect. */
export const CONNECTION_REFUSED_LOG = 'connection refused: too many connections';

export async function openConnection(deps: Deps, caller: Caller): Promise<typeof TOO_MANY_CONNECTIONS | undefined> {
  // The item goes first: a slot whose holder has no item is taken to be abandoned and may be taken over.
  await deps.store.putConnection({
    connectionId: caller.connectionId,
    userId: caller.userId,
    connectedAt: caller.connectedAt,
    expiresAt: connectionRecordExpiresAt(caller.connectedAt, caller.connectedAt),
  });
  if (!(await deps.store.claimConnectionSlot(caller, deps.connectionsPerUser, caller.nowMs))) {
    await deps.store.deleteConnection(caller.connectionId);
    deps.telemetry.count('ConnectionsRefused');
    // The line carries the userId (a correlation key): the connections-refused runbook counts refusals by it.
    deps.telemetry.warn(CONNECTION_REFUSED_LOG, { connectionsPerUser: deps.connectionsPerUser });
    return TOO_MANY_CONNECTIONS;
  }
  deps.telemetry.count('ConnectionsOpened');
  return undefined;
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
