import { ACTIONS } from '../catalog/functions.ts';
import { ChatError } from '../domain/errors.ts';
import { unroutedRequest } from '../domain/protocol.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

// Reached by JSON frames whose `action` matches no route (non-JSON frames fail parsing with BAD_REQUEST first).
export const handler = messageRoute(unroutedRequest, {}, async (_deps, _caller, frame) => {
  const named = typeof frame.action === 'string' ? `unknown action "${frame.action.slice(0, 64)}"` : 'missing "action"';
  throw new ChatError('UNKNOWN_ACTION', `${named}; use one of: ${ACTIONS.join(', ')}`);
});
