/** Reads the local stack's DynamoDB directly (outside any function), to see what a scenario wrote. */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { LocalStack } from '../../local/stack.ts';

export async function itemCounts(stack: LocalStack): Promise<Record<string, number>> {
  const db = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const counts: Record<string, number> = {};
    for (const table of stack.tables) {
      let count = 0;
      let ExclusiveStartKey: Record<string, never> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey }));
        count += page.Count ?? 0;
        ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
      } while (ExclusiveStartKey);
      counts[table] = count;
    }
    return counts;
  } finally {
    db.destroy();
  }
}
