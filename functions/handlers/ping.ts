import { z } from 'zod';
import { heartbeat } from '../app/connections.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(z.object({}), async (deps, caller) => {
  await heartbeat(deps, caller);
  return { frames: [{ type: 'pong' as const, ts: caller.nowMs }] };
});
