/**
 * Private rooms: deciding who enters (join), and the owner's and admins' invite and remove. The rules are in
 * domain/access.ts; this reads the records they need and writes what they decide.
 */
import { decideJoin, mayInvite, mayRemove, roleIn, roomInScope, type Role, type RoomSettings } from '../domain/access.ts';
import { ChatError } from '../domain/errors.ts';
import type { InviteRequest, JoinRequest, RemoveRequest } from '../domain/protocol.ts';
import type { Caller, Deps } from './context.ts';
import { leavePresence } from './departures.ts';
import { broadcastPresence, deliver } from './fanout.ts';

/**
 * One answer for every refusal: it never says whether the room exists, is public or private, or who is in it,
 * so guessing names learns nothing from the wording.
 */
export function forbidden(action: string, room: string): ChatError {
  return new ChatError('FORBIDDEN', `you may not ${action} room ${room}`);
}

async function roleOf(deps: Deps, room: string, settings: RoomSettings, userId: string): Promise<Role | undefined> {
  if (settings.visibility !== 'private') return undefined;
  // The owner is on the room's record: no second read.
  if (settings.owner === userId) return 'owner';
  return roleIn(settings, userId, await deps.store.readGrant(room, userId));
}

/** What a permitted join found: whether the caller's right to be there is a grant that a `remove` may withdraw. */
export interface Admission {
  readonly revocable: boolean;
}

/**
 * Admits the caller to `room` or throws FORBIDDEN / ROOM_EXISTS; creates the room when it is new. Two creators
 * of one name race on a single conditional write: the loser reads the winner's room and is judged against it.
 */
export async function admitToRoom(deps: Deps, caller: Caller, req: JoinRequest): Promise<Admission> {
  // Before any read: a token scoped elsewhere learns nothing about the room, not even that it exists.
  if (!roomInScope(caller.roomScope, req.room)) throw forbidden('join', req.room);
  let settings = await deps.store.readRoomSettings(req.room);
  for (let attempt = 0; ; attempt++) {
    const role = settings && (await roleOf(deps, req.room, settings, caller.userId));
    const decision = decideJoin(settings, req.visibility, role);
    switch (decision.kind) {
      case 'enter':
        return { revocable: role === 'admin' || role === 'member' };
      case 'forbidden':
        throw forbidden('join', req.room);
      case 'exists-public':
        throw new ChatError('ROOM_EXISTS', `room ${req.room} exists and is public; a private room needs another name`);
      case 'create': {
        const created: RoomSettings =
          decision.visibility === 'private' ? { visibility: 'private', owner: caller.userId } : { visibility: 'public' };
        if (await deps.store.createRoom(req.room, created, caller.nowMs)) return { revocable: false };
        // Another join created it first; after that the room exists, so this loop ends on the next pass.
        if (attempt > 0) throw new Error(`room ${req.room} could neither be created nor read`);
        settings = await deps.store.readRoomSettings(req.room);
      }
    }
  }
}

/**
 * A join admitted on a grant writes its membership and presence after reading the grant; a `remove` in between
 * deleted the grant and may have listed the members, or cleared presence, before those writes. Reading the grant
 * again after them closes the gap: either this read sees the grant gone (and the join undoes its writes) or the
 * grant was deleted after it, and the remover's (consistent) member query and presence removal, which follow
 * the deletion, see and undo them.
 */
export async function stillAdmitted(deps: Deps, caller: Caller, room: string): Promise<boolean> {
  return (await deps.store.readGrant(room, caller.userId)) !== undefined;
}

export interface Invited {
  readonly room: string;
  readonly user: string;
  readonly role: 'member' | 'admin';
}

/** Grants `user` a role in a private room the caller owns or administers. */
export async function inviteToRoom(deps: Deps, caller: Caller, req: InviteRequest): Promise<Invited> {
  const role = req.role ?? 'member';
  const settings = await deps.store.readRoomSettings(req.room);
  if (settings?.visibility !== 'private') throw forbidden('invite to', req.room);
  const [actor, target] = await Promise.all([
    roleOf(deps, req.room, settings, caller.userId),
    roleOf(deps, req.room, settings, req.user),
  ]);
  if (!mayInvite(actor, target, role)) throw forbidden('invite to', req.room);
  await deps.store.putGrant(req.room, req.user, role, caller.userId, caller.nowMs);
  return { room: req.room, user: req.user, role };
}

export interface UserRemoval {
  readonly room: string;
  readonly user: string;
  /** The removed user's connections that were in the room: each is told it was removed. */
  readonly connectionIds: string[];
  /** The user was present in the room and is no more: the others are told. */
  readonly departed: boolean;
}

/** Withdraws `user`'s role in a private room and ends their memberships there. */
export async function removeUserFromRoom(deps: Deps, caller: Caller, req: RemoveRequest): Promise<UserRemoval> {
  const settings = await deps.store.readRoomSettings(req.room);
  if (settings?.visibility !== 'private') throw forbidden('remove from', req.room);
  const [actor, target] = await Promise.all([
    roleOf(deps, req.room, settings, caller.userId),
    roleOf(deps, req.room, settings, req.user),
  ]);
  if (!mayRemove(actor, caller.userId, target, req.user)) throw forbidden('remove from', req.room);
  // The grant goes first, so a join racing this removal either fails its admission or is seen below.
  await deps.store.deleteGrant(req.room, req.user);
  const memberships = (await deps.store.listMembers(req.room, caller.nowMs)).filter((m) => m.userId === req.user);
  const departures = await Promise.all(
    memberships.map(async (m) => {
      // The membership's connection is in one room fewer (its own item; a gone connection has none to count on).
      if (await deps.store.deleteMembership(req.room, m.connectionId)) await deps.store.releaseCount({ of: 'connection-rooms', connectionId: m.connectionId });
      return leavePresence(deps.store, req.room, req.user, m.connectionId, caller.nowMs);
    }),
  );
  return {
    room: req.room,
    user: req.user,
    connectionIds: memberships.map((m) => m.connectionId),
    departed: departures.some(Boolean),
  };
}

/** Tells the removed user's connections (`removed`), then the room's others when the user is no longer present. */
export async function announceRemoval(deps: Deps, removal: UserRemoval, nowMs: number): Promise<void> {
  const recipients = removal.connectionIds.map((connectionId) => ({ connectionId, userId: removal.user }));
  await deliver(deps, removal.room, { type: 'removed', room: removal.room }, recipients, nowMs);
  if (removal.departed) await broadcastPresence(deps, removal.room, removal.user, 'leave', nowMs);
}
