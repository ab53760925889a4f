import { connectionExpiresAt } from '../domain/lifetime.ts';
import type { Caller, Deps } from './context.ts';
import type { ChatStore } from './ports.ts';

export async function openConnection(deps: Deps, caller: Caller): Promise<void> {
  await deps.store.putConnection({
    connectionId: caller.connectionId,
    userId: caller.userId,
    connectedAt: caller.connectedAt,
    expiresAt: connectionExpiresAt(caller.connectedAt),
  });
  deps.telemetry.count('ConnectionsOpened');
}

/** Removes a connection and every membership it holds; used on $disconnect and when a post finds it gone. */
export async function removeConnection(store: ChatStore, connectionId: string): Promise<string[]> {
  const rooms = await store.listRoomsOfConnection(connectionId);
  await Promise.all(rooms.map((room) => store.deleteMembership(room, connectionId)));
  await store.deleteConnection(connectionId);
  return rooms;
}

export async function closeConnection(deps: Deps, caller: Pick<Caller, 'connectionId'>): Promise<void> {
  await removeConnection(deps.store, caller.connectionId);
  deps.telemetry.count('ConnectionsClosed');
}
