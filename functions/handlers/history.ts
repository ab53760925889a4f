import { readHistory } from '../app/messages.ts';
import { historyRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(historyRequest, { store: dynamoStore }, async (deps, caller, req) => ({
  frames: [{ type: 'history' as const, ...(await readHistory(deps, caller, req)) }],
}));
