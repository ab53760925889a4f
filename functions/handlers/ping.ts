import { z } from 'zod';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(z.object({}), async () => ({ frame: { type: 'pong' as const, ts: Date.now() } }));
