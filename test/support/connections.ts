/** Operator actions on a local stack's connections, through the same APIs as on AWS. */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import type { LocalStack } from '../../local/stack.ts';

/**
 * Closes every connection of a user from the server side, as API Gateway's DeleteConnection does: the
 * connections table says which are theirs. Resolves with how many were closed.
 */
export async function deleteConnectionsOf(stack: LocalStack, user: string): Promise<number> {
  const db = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const table = stack.tables.find((t) => t.endsWith('-connections')) as string;
  const { Items } = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  db.destroy();
  // Signed as the operator identity: @connections refuses keys IAM does not know.
  const api = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${stack.port}/${stack.stage}`,
    region: stack.region,
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: 'local' },
  });
  const theirs = (Items ?? []).filter((item) => item.userId?.S === user);
  for (const item of theirs) await api.send(new DeleteConnectionCommand({ ConnectionId: item.connectionId?.S }));
  api.destroy();
  return theirs.length;
}
