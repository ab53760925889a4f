import { broadcastPresence } from '../app/fanout.ts';
import { joinRoom } from '../app/rooms.ts';
import { joinRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(joinRequest, { store: dynamoStore, dispatcher: lambdaDispatcher }, async (deps, caller, req) => {
  const { joined, resumed, arrived } = await joinRoom(deps, caller, req);
  return {
    frames: [{ type: 'joined' as const, ...joined }, ...(resumed ? [{ type: 'history' as const, ...resumed }] : [])],
    afterReply: arrived ? () => broadcastPresence(deps, req.room, caller.userId, 'join', caller.nowMs) : undefined,
  };
});
