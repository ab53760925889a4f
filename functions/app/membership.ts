import { ChatError } from '../domain/errors.ts';
import type { Caller, Deps } from './context.ts';

/** Every room request but join needs a live membership of the calling connection. */
export async function requireMembership(deps: Deps, caller: Caller, room: string): Promise<void> {
  const membership = await deps.store.getMembership(room, caller.connectionId, caller.nowMs);
  if (!membership) throw notAMember(room);
}

export function notAMember(room: string): ChatError {
  return new ChatError('NOT_A_MEMBER', `join room ${room} first`);
}
