import { heartbeat } from '../app/connections.ts';
import { pingRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(pingRequest, { store: dynamoStore }, async (deps, caller) => {
  await heartbeat(deps, caller);
  return { frames: [{ type: 'pong' as const, ts: caller.nowMs }] };
});
