import { sendAndDeliver } from '../app/messages.ts';
import { sendRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { s3Storage } from '../runtime/s3.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

/** The ack is the reply: it is posted once the message has reached its room (see sendAndDeliver). */
export const handler = messageRoute(sendRequest, { store: dynamoStore, dispatcher: lambdaDispatcher, storage: s3Storage }, async (deps, caller, req) => {
  const { message, settle } = await sendAndDeliver(deps, caller, req);
  return {
    frames: [{ type: 'ack' as const, room: message.room, clientMsgId: message.clientMsgId, seq: message.seq, id: message.id, ts: message.ts }],
    // Connections found gone leave their other rooms, and departures are announced, after the sender's ack.
    afterReply: settle,
  };
});
