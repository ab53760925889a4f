import { readHistory } from '../app/messages.ts';
import { historyRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(historyRequest, async (deps, caller, req) => ({
  frames: [{ type: 'history' as const, ...(await readHistory(deps, caller, req)) }],
}));
