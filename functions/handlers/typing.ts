import { broadcast } from '../app/fanout.ts';
import { signalTyping } from '../app/rooms.ts';
import { typingRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

// Fire and forget: no reply frame, and a dropped (too frequent) event is silent. Only errors are answered.
export const handler = messageRoute(typingRequest, { store: dynamoStore, dispatcher: lambdaDispatcher }, async (deps, caller, req) => {
  if (!(await signalTyping(deps, caller, req))) return {};
  const frame = { type: 'typing' as const, room: req.room, user: caller.userId };
  // The user's own connections are left out: they know the user is typing.
  return { afterReply: () => broadcast(deps, req.room, frame, caller.nowMs, { exceptUser: caller.userId }) };
});
