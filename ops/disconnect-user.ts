/**
 * Cuts a user off: closes every open connection of theirs through `DELETE @connections`, as an operator holding
 * the stage's operator policy (infra/constructs/operators.ts) may. The user's connections are read from the
 * `slots` table (one item per open connection, keyed by user; a consistent query sees one opened a moment ago),
 * so no index or scan is needed.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../functions/catalog/tables.ts';

/** A slot item names its holder by the connections table's key (functions/adapters/dynamodb-store.ts). */
const SLOT_HOLDER = TABLES.connections.hashKey.name;

export interface DisconnectUserOptions {
  readonly dynamodb: DynamoDBClient;
  readonly connections: ApiGatewayManagementApiClient;
  /** The stage's `slots` table. */
  readonly slotsTable: string;
  readonly user: string;
}

export interface DisconnectOutcome {
  /** Connections that were open and are now closing. */
  readonly closed: string[];
  /** Connections the table still listed but API Gateway no longer had (their slot is freed on the next handshake). */
  readonly alreadyGone: string[];
}

export async function disconnectUser(options: DisconnectUserOptions): Promise<DisconnectOutcome> {
  const connectionIds: string[] = [];
  let ExclusiveStartKey: QueryCommand['input']['ExclusiveStartKey'];
  do {
    const page = await options.dynamodb.send(
      new QueryCommand({
        TableName: options.slotsTable,
        KeyConditionExpression: '#user = :user',
        ExpressionAttributeNames: { '#user': TABLES.slots.hashKey.name, '#holder': SLOT_HOLDER },
        ExpressionAttributeValues: { ':user': { S: options.user } },
        ProjectionExpression: '#holder',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const holder = item[SLOT_HOLDER]?.S;
      if (holder) connectionIds.push(holder);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);

  const closed: string[] = [];
  const alreadyGone: string[] = [];
  for (const connectionId of connectionIds) {
    try {
      await options.connections.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      closed.push(connectionId);
    } catch (error) {
      if (!(error instanceof GoneException)) throw error;
      alreadyGone.push(connectionId);
    }
  }
  return { closed, alreadyGone };
}
