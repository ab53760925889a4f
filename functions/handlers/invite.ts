import { inviteToRoom } from '../app/room-access.ts';
import { inviteRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(inviteRequest, { store: dynamoStore }, async (deps, caller, req) => ({
  frames: [{ type: 'invited' as const, ...(await inviteToRoom(deps, caller, req)) }],
}));
