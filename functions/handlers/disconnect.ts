import { closeConnection } from '../app/connections.ts';
import { lifecycleRoute } from '../runtime/ws-handler.ts';

export const handler = lifecycleRoute(closeConnection);
