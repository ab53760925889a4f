import { listRoomMembers } from '../app/rooms.ts';
import { whoRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(whoRequest, async (deps, caller, req) => ({
  frames: [{ type: 'who' as const, room: req.room, members: await listRoomMembers(deps, caller, req) }],
}));
