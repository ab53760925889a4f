import { deliverToRoom } from '../app/fanout.ts';
import { idempotencyKey, sendMessage } from '../app/messages.ts';
import { messageFrame, sendRequest } from '../domain/protocol.ts';
import { logger } from '../runtime/observability.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

/**
 * The ack follows the fan-out, so an acknowledged message has reached its room. If the fan-out fails (the
 * members cannot be listed) the sender gets a retryable error instead, and the retry, finding the message
 * stored but not yet fanned out, fans it out before acknowledging it.
 */
export const handler = messageRoute(sendRequest, async (deps, caller, req) => {
  const { message, fannedOut } = await sendMessage(deps, caller, req);
  let settle: (() => Promise<void>) | undefined;
  if (!fannedOut) {
    const key = idempotencyKey(message.room, caller.userId, message.clientMsgId);
    settle = await deliverToRoom(deps, message.room, messageFrame(message), caller.nowMs);
    // The room has the message now; failing the send here would only make its retry deliver it twice.
    await deps.store.markFannedOut(key).catch((error: unknown) => logger.warn('could not record the fan-out', { error: String(error) }));
  }
  return {
    // Connections found gone leave other rooms, and departures are announced, after the sender's ack.
    afterReply: settle,
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
  };
});
