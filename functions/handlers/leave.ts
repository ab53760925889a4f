import { broadcastPresence } from '../app/fanout.ts';
import { leaveRoom } from '../app/rooms.ts';
import { leaveRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(leaveRequest, { store: dynamoStore, dispatcher: lambdaDispatcher }, async (deps, caller, req) => {
  const { departed } = await leaveRoom(deps, caller, req);
  return {
    frames: [{ type: 'left' as const, room: req.room }],
    afterReply: departed ? () => broadcastPresence(deps, req.room, caller.userId, 'leave', caller.nowMs) : undefined,
  };
});
