import { listRoomMembers } from '../app/rooms.ts';
import { whoRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

// `after` is echoed so a client paging two lists of one room at once can tell their pages apart.
export const handler = messageRoute(whoRequest, { store: dynamoStore }, async (deps, caller, req) => ({
  frames: [{ type: 'who' as const, room: req.room, ...(await listRoomMembers(deps, caller, req)), ...(req.after === undefined ? {} : { after: req.after }) }],
}));
