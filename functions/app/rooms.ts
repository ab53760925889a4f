import { ChatError } from '../domain/errors.ts';
import { connectionExpiresAt } from '../domain/lifetime.ts';
import { uniqueUsers, type JoinRequest, type LeaveRequest } from '../domain/protocol.ts';
import type { Caller, Deps } from './context.ts';

export interface Joined {
  readonly room: string;
  readonly lastSeq: number;
  readonly members: string[];
}

export async function joinRoom(deps: Deps, caller: Caller, req: JoinRequest): Promise<Joined> {
  await deps.store.putMembership({
    room: req.room,
    connectionId: caller.connectionId,
    userId: caller.userId,
    joinedAt: caller.nowMs,
    expiresAt: connectionExpiresAt(caller.connectedAt),
  });
  const [lastSeq, members] = await Promise.all([
    deps.store.lastSeq(req.room),
    deps.store.listMembers(req.room, caller.nowMs),
  ]);
  return { room: req.room, lastSeq, members: uniqueUsers(members.map((m) => m.userId)) };
}

export async function leaveRoom(deps: Deps, caller: Caller, req: LeaveRequest): Promise<void> {
  const removed = await deps.store.deleteMembership(req.room, caller.connectionId);
  if (!removed) throw notAMember(req.room);
}

export async function requireMembership(deps: Deps, caller: Caller, room: string): Promise<void> {
  const membership = await deps.store.getMembership(room, caller.connectionId, caller.nowMs);
  if (!membership) throw notAMember(room);
}

function notAMember(room: string): ChatError {
  return new ChatError('NOT_A_MEMBER', `join room ${room} first`);
}
