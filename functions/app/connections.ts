import { connectionRecordExpiresAt } from '../domain/lifetime.ts';
import type { Caller, Deps } from './context.ts';
import { removeConnection } from './departures.ts';
import { broadcastPresence } from './fanout.ts';

export async function openConnection(deps: Deps, caller: Caller): Promise<void> {
  await deps.store.putConnection({
    connectionId: caller.connectionId,
    userId: caller.userId,
    connectedAt: caller.connectedAt,
    expiresAt: connectionRecordExpiresAt(caller.connectedAt, caller.connectedAt),
  });
  deps.telemetry.count('ConnectionsOpened');
}

/** A ping: the client is alive, so its connection item's lastSeen and expiry move forward. */
export async function heartbeat(deps: Deps, caller: Caller): Promise<void> {
  await deps.store.touchConnection(caller, caller.nowMs);
}

/** $disconnect: removes the connection and tells each room it was the user's last connection in. */
export async function closeConnection(deps: Deps, caller: Caller): Promise<void> {
  const { departures } = await removeConnection(deps.store, caller, caller.nowMs);
  deps.telemetry.count('ConnectionsClosed');
  await Promise.all(departures.map((d) => broadcastPresence(deps, d.room, d.userId, 'leave', caller.nowMs)));
}
