import * as z from 'zod';
import { heartbeat } from '../app/connections.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(z.object({}), { store: dynamoStore }, async (deps, caller) => {
  await heartbeat(deps, caller);
  return { frames: [{ type: 'pong' as const, ts: caller.nowMs }] };
});
