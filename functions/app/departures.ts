import type { ChatStore, ConnectionIdentity } from './ports.ts';

/** A user whose last connection in a room went away: the room's other members are told. */
export interface Departure {
  readonly room: string;
  readonly userId: string;
}

export interface Removal {
  /** This call deleted the connection item: when several requests remove the same connection, exactly one did. */
  readonly removed: boolean;
  /** Rooms where it was the user's last connection. */
  readonly departures: Departure[];
}

/**
 * Removes the connection from its user's presence in the room; true when the user is present no more, and then
 * the room's count of users present goes down by one (domain/room-limits.ts).
 */
export async function leavePresence(store: ChatStore, room: string, userId: string, connectionId: string, nowMs: number): Promise<boolean> {
  const departed = await store.removePresence(room, userId, connectionId, nowMs);
  if (departed) await store.releaseCount({ of: 'room-members', room });
  return departed;
}

/**
 * Removes a connection with its memberships and presence; used on $disconnect and when a post finds it gone.
 * Each removal is conditional, so when two requests remove the same connection only one of them reports the
 * departure.
 */
export async function removeConnection(
  store: ChatStore,
  gone: Pick<ConnectionIdentity, 'connectionId' | 'userId'>,
  nowMs: number,
  knownRooms: readonly string[] = [],
): Promise<Removal> {
  // The by-connection index is eventually consistent and may miss a room joined a moment ago; rooms the caller
  // has just seen the connection in are added so their departure is never missed.
  const rooms = [...new Set([...knownRooms, ...(await store.listRoomsOfConnection(gone.connectionId))])];
  // The connection item goes first: whoever sees its memberships gone may rely on the connection being gone.
  const removed = await store.deleteConnection(gone.connectionId);
  const departed = await Promise.all(
    rooms.map(async (room) => {
      await store.deleteMembership(room, gone.connectionId);
      return leavePresence(store, room, gone.userId, gone.connectionId, nowMs);
    }),
  );
  return { removed, departures: rooms.filter((_, i) => departed[i]).map((room) => ({ room, userId: gone.userId })) };
}

/**
 * A connection a post found gone, removed from the one room being delivered to (its item too, so later posts
 * skip it): the delivery stays O(1) per gone recipient, and its other rooms are left to `removeConnection`, run
 * after the sender has been answered.
 */
export async function removeFromRoom(
  store: ChatStore,
  gone: Pick<ConnectionIdentity, 'connectionId' | 'userId'>,
  room: string,
  nowMs: number,
): Promise<Removal> {
  const removed = await store.deleteConnection(gone.connectionId);
  await store.deleteMembership(room, gone.connectionId);
  const departed = await leavePresence(store, room, gone.userId, gone.connectionId, nowMs);
  return { removed, departures: departed ? [{ room, userId: gone.userId }] : [] };
}
