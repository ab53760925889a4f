import { leaveRoom } from '../app/rooms.ts';
import { leaveRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(leaveRequest, async (deps, caller, req) => {
  await leaveRoom(deps, caller, req);
  return { frame: { type: 'left' as const, room: req.room } };
});
