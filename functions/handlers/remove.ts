import { announceRemoval, removeUserFromRoom } from '../app/room-access.ts';
import { removeRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(removeRequest, { store: dynamoStore, dispatcher: lambdaDispatcher }, async (deps, caller, req) => {
  const removal = await removeUserFromRoom(deps, caller, req);
  return {
    frames: [{ type: 'removed' as const, room: req.room, user: req.user }],
    afterReply: () => announceRemoval(deps, removal, caller.nowMs),
  };
});
