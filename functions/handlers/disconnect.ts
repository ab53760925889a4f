import { closeConnection } from '../app/connections.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { lifecycleRoute } from '../runtime/ws-handler.ts';

export const handler = lifecycleRoute({ store: dynamoStore, dispatcher: lambdaDispatcher }, closeConnection);
