import { broadcast } from '../app/fanout.ts';
import { sendMessage } from '../app/messages.ts';
import { messageFrame, sendRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(sendRequest, async (deps, caller, req) => {
  const { message, replay } = await sendMessage(deps, caller, req);
  return {
    frames: [
      {
        type: 'ack' as const,
        room: message.room,
        clientMsgId: message.clientMsgId,
        seq: message.seq,
        id: message.id,
        ts: message.ts,
      },
    ],
    // A replayed send was broadcast by the request that stored it.
    afterReply: replay ? undefined : () => broadcast(deps, message.room, messageFrame(message), caller.nowMs),
  };
});
