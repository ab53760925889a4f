import { openConnection } from '../app/connections.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lifecycleRoute } from '../runtime/ws-handler.ts';

export const handler = lifecycleRoute({ store: dynamoStore }, openConnection);
