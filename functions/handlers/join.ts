import { joinRoom } from '../app/rooms.ts';
import { joinRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(joinRequest, async (deps, caller, req) => ({
  frame: { type: 'joined' as const, ...(await joinRoom(deps, caller, req)) },
}));
