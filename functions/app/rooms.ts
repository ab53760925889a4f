import { ChatError } from '../domain/errors.ts';
import { memberPage, type MemberPage } from '../domain/frame-budget.ts';
import { planHistoryQuery } from '../domain/history.ts';
import { connectionExpiresAt } from '../domain/lifetime.ts';
import { sessionEndsAt } from '../domain/session.ts';
import { RESUME_HISTORY_LIMIT, TYPING_INTERVAL_MS } from '../domain/protocol-rules.ts';
import { relaysTyping, type Counter } from '../domain/room-limits.ts';
import {
  type JoinRequest,
  type LeaveRequest,
  type TypingRequest,
  type WhoRequest,
} from '../domain/protocol.ts';
import type { Caller, Deps } from './context.ts';
import { leavePresence } from './departures.ts';
import { notAMember, requireMembership } from './membership.ts';
import { newestSeq, pageHistory, type HistoryPage } from './messages.ts';
import type { Membership } from './ports.ts';
import { admitToRoom, forbidden, stillAdmitted } from './room-access.ts';

export interface Joined {
  readonly room: string;
  readonly lastSeq: number;
  /** The first page of the room's users; `who` with `after` lists the rest when memberCount says there are more. */
  readonly members: string[];
  readonly memberCount: number;
}

export interface JoinOutcome {
  readonly joined: Joined;
  /** With `afterSeq`: the messages after it (one page), so a reconnecting client resumes where it was. */
  readonly resumed?: HistoryPage;
  /** This connection made the user present in the room: the other users are told. */
  readonly arrived: boolean;
}

export async function joinRoom(deps: Deps, caller: Caller, req: JoinRequest): Promise<JoinOutcome> {
  // Joining a room the connection is already in (a retried join) takes no second place among its rooms. The place
  // is taken before admission, which may create the room: a refused join leaves no room behind.
  const rejoin = (await deps.store.getMembership(req.room, caller.connectionId, caller.nowMs)) !== undefined;
  if (!rejoin && !(await takeConnectionRoom(deps, caller, req.room))) {
    throw new ChatError('TOO_MANY_ROOMS', `a connection may be in ${deps.roomLimits.roomsPerConnection} rooms; leave one first`);
  }
  const admission = await admitToRoom(deps, caller, req).catch(async (error: unknown) => {
    if (!rejoin) await deps.store.releaseCount({ of: 'connection-rooms', connectionId: caller.connectionId });
    throw error;
  });
  const membership: Membership = {
    room: req.room,
    connectionId: caller.connectionId,
    userId: caller.userId,
    joinedAt: caller.nowMs,
    expiresAt: connectionExpiresAt(caller.connectedAt),
    ...(caller.tokenExpiresAt === undefined ? {} : { sessionEndsAt: sessionEndsAt(caller.tokenExpiresAt) }),
  };
  await deps.store.putMembership(membership);
  const resume = req.afterSeq === undefined ? undefined : { room: req.room, afterSeq: req.afterSeq, limit: RESUME_HISTORY_LIMIT };
  const [lastSeq, members, resumed] = await Promise.all([
    newestSeq(deps, req.room),
    deps.store.listMembers(req.room, caller.nowMs),
    resume && pageHistory(deps, req.room, planHistoryQuery(resume), caller.nowMs),
  ]);
  // Presence is recorded last: if a read above fails, the client's retried join still finds the user absent
  // and the arrival is announced then.
  const arrived = await deps.store.addPresence(membership, caller.nowMs);
  // A user arriving takes a place among the room's users; the room being full undoes the join.
  if (arrived && !(await takeRoomMember(deps, caller, req.room))) {
    await undoJoin(deps, caller, req.room, { rejoin, memberCounted: false });
    throw new ChatError('ROOM_FULL', `room ${req.room} has ${deps.roomLimits.membersPerRoom} users, as many as a room may hold`);
  }
  // After every write, so a removal that ran in between either is seen here or saw (and undid) all of them.
  if (admission.revocable && !(await stillAdmitted(deps, caller, req.room))) {
    await undoJoin(deps, caller, req.room, { rejoin, memberCounted: true });
    throw forbidden('join', req.room);
  }
  const { members: firstPage, memberCount } = memberPage(members.map((m) => m.userId));
  return { joined: { room: req.room, lastSeq, members: firstPage, memberCount }, resumed, arrived };
}

/**
 * Takes back what a refused join wrote: its membership, its presence (and the place among the room's users, when
 * its user took one) and its place among the connection's rooms (unless it was in the room before).
 */
async function undoJoin(deps: Deps, caller: Caller, room: string, taken: { rejoin: boolean; memberCounted: boolean }): Promise<void> {
  await deps.store.deleteMembership(room, caller.connectionId);
  if (taken.memberCounted) await leavePresence(deps.store, room, caller.userId, caller.connectionId, caller.nowMs);
  else await deps.store.removePresence(room, caller.userId, caller.connectionId, caller.nowMs);
  if (!taken.rejoin) await deps.store.releaseCount({ of: 'connection-rooms', connectionId: caller.connectionId });
}

/**
 * Takes one of a counter's `limit` places; at the limit, recounts it once from the records and tries again. The
 * counters are single-item writes beside the records they count, so they drift when a write between the two is
 * lost or a record expires by TTL without a departure; recounting at the limit keeps a drift from refusing for
 * good, and costs a full read only when a room or connection is (or looks) full.
 */
async function takeWithin(deps: Deps, caller: Caller, counter: Counter, limit: number, recount: () => Promise<number>): Promise<boolean> {
  if (await deps.store.takeCount(counter, limit, caller.nowMs)) return true;
  const seen = await deps.store.readCount(counter);
  const exact = await recount();
  if (exact >= seen || !(await deps.store.resetCount(counter, seen, exact))) return false;
  return deps.store.takeCount(counter, limit, caller.nowMs);
}

/** A place among the connection's rooms for `room`, which it is not in yet. */
function takeConnectionRoom(deps: Deps, caller: Caller, room: string): Promise<boolean> {
  return takeWithin(deps, caller, { of: 'connection-rooms', connectionId: caller.connectionId }, deps.roomLimits.roomsPerConnection, async () =>
    (await deps.store.listRoomsOfConnection(caller.connectionId)).filter((r) => r !== room).length,
  );
}

/** A place among the room's users for the caller, who has just become present there. */
function takeRoomMember(deps: Deps, caller: Caller, room: string): Promise<boolean> {
  return takeWithin(deps, caller, { of: 'room-members', room }, deps.roomLimits.membersPerRoom, async () => {
    const others = (await deps.store.listMembers(room, caller.nowMs)).filter((m) => m.userId !== caller.userId);
    return new Set(others.map((m) => m.userId)).size;
  });
}

/** Leaves a room; true when that was the user's last connection in it (the other users are told). */
export async function leaveRoom(deps: Deps, caller: Caller, req: LeaveRequest): Promise<{ departed: boolean }> {
  const removed = await deps.store.deleteMembership(req.room, caller.connectionId);
  if (!removed) throw notAMember(req.room);
  await deps.store.releaseCount({ of: 'connection-rooms', connectionId: caller.connectionId });
  return { departed: await leavePresence(deps.store, req.room, caller.userId, caller.connectionId, caller.nowMs) };
}

/** One page of the users present in a room: sorted, each once however many connections they have. */
export async function listRoomMembers(deps: Deps, caller: Caller, req: WhoRequest): Promise<MemberPage> {
  await requireMembership(deps, caller, req.room);
  const members = await deps.store.listMembers(req.room, caller.nowMs);
  return memberPage(members.map((m) => m.userId), req.after);
}

/**
 * Admits a typing event unless this connection sent one for the room less than TYPING_INTERVAL_MS ago; the
 * stamp lives on the membership item, so the limit holds across Lambda instances. True when it is relayed.
 */
export async function signalTyping(deps: Deps, caller: Caller, req: TypingRequest): Promise<boolean> {
  if (await deps.store.markTyping(req.room, caller.connectionId, caller.nowMs, TYPING_INTERVAL_MS)) {
    // One read of the room's count, not of its members: above the stage's size, typing is not relayed at all.
    if (relaysTyping(await deps.store.readCount({ of: 'room-members', room: req.room }), deps.roomLimits)) return true;
    deps.telemetry.count('TypingNotRelayed');
    return false;
  }
  await requireMembership(deps, caller, req.room);
  deps.telemetry.count('TypingDropped');
  return false;
}
