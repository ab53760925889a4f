import { memberPage, type MemberPage } from '../domain/frame-budget.ts';
import { planHistoryQuery } from '../domain/history.ts';
import { connectionExpiresAt } from '../domain/lifetime.ts';
import { RESUME_HISTORY_LIMIT, TYPING_INTERVAL_MS } from '../domain/protocol-rules.ts';
import {
  type JoinRequest,
  type LeaveRequest,
  type TypingRequest,
  type WhoRequest,
} from '../domain/protocol.ts';
import type { Caller, Deps } from './context.ts';
import { notAMember, requireMembership } from './membership.ts';
import { pageHistory, type HistoryPage } from './messages.ts';
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
  const admission = await admitToRoom(deps, caller, req);
  const membership: Membership = {
    room: req.room,
    connectionId: caller.connectionId,
    userId: caller.userId,
    joinedAt: caller.nowMs,
    expiresAt: connectionExpiresAt(caller.connectedAt),
  };
  await deps.store.putMembership(membership);
  const resume = req.afterSeq === undefined ? undefined : { room: req.room, afterSeq: req.afterSeq, limit: RESUME_HISTORY_LIMIT };
  const [lastSeq, members, resumed] = await Promise.all([
    deps.store.lastSeq(req.room),
    deps.store.listMembers(req.room, caller.nowMs),
    resume && pageHistory(deps, req.room, planHistoryQuery(resume)),
  ]);
  // Presence is recorded last: if a read above fails, the client's retried join still finds the user absent
  // and the arrival is announced then.
  const arrived = await deps.store.addPresence(membership, caller.nowMs);
  // After every write, so a removal that ran in between either is seen here or saw (and undid) all of them.
  if (admission.revocable && !(await stillAdmitted(deps, caller, req.room))) {
    await deps.store.deleteMembership(req.room, caller.connectionId);
    await deps.store.removePresence(req.room, caller.userId, caller.connectionId, caller.nowMs);
    throw forbidden('join', req.room);
  }
  const { members: firstPage, memberCount } = memberPage(members.map((m) => m.userId));
  return { joined: { room: req.room, lastSeq, members: firstPage, memberCount }, resumed, arrived };
}

/** Leaves a room; true when that was the user's last connection in it (the other users are told). */
export async function leaveRoom(deps: Deps, caller: Caller, req: LeaveRequest): Promise<{ departed: boolean }> {
  const removed = await deps.store.deleteMembership(req.room, caller.connectionId);
  if (!removed) throw notAMember(req.room);
  return { departed: await deps.store.removePresence(req.room, caller.userId, caller.connectionId, caller.nowMs) };
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
  if (await deps.store.markTyping(req.room, caller.connectionId, caller.nowMs, TYPING_INTERVAL_MS)) return true;
  await requireMembership(deps, caller, req.room);
  deps.telemetry.count('TypingDropped');
  return false;
}
