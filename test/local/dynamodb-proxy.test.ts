/**
 * Shutting the local DynamoDB down while a function's call is still inside the proxy: close() must wait for that
 * call's answer, or dynalite runs the write against a closed database and throws an uncaught "Database is closed"
 * (seen in CI from the Lambda drills' stack teardown). And the capacity the proxy reports is what DynamoDB
 * charges for the items' sizes (the cost model's DynamoDB coefficients come from it).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, expect, it } from 'vitest';
import { consumedCapacity, DynamoProxy } from '../../local/dynamodb-proxy.ts';
import { startDynalite, type DynamoEndpoint } from '../../local/dynamodb.ts';
import { FaultController } from '../../local/faults.ts';

const credentials = { accessKeyId: 'TEST', secretAccessKey: 'test' };
let started: DynamoEndpoint | undefined;

afterEach(async () => {
  await started?.close();
});

/** An embedded dynalite with one `items` table (hash key `id`), and a client that reaches it directly. */
async function dynaliteWithItemsTable(): Promise<{ dynalite: DynamoEndpoint; direct: DynamoDBClient }> {
  started = await startDynalite();
  const direct = new DynamoDBClient({ endpoint: started.endpoint, region: 'us-east-1', credentials });
  await direct.send(
    new CreateTableCommand({
      TableName: 'items',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  return { dynalite: started, direct };
}

it('close() waits for a call already handed to the embedded DynamoDB, then refuses new ones', async () => {
  const { dynalite, direct } = await dynaliteWithItemsTable();
  const faults = new FaultController();
  let arrived!: () => void;
  const callArrived = new Promise<void>((resolve) => (arrived = resolve));
  const proxy = new DynamoProxy(dynalite.handle, faults, () => {}, () => {
    arrived();
    return undefined;
  });
  const endpoint = await proxy.listen();
  // The call waits inside the proxy while close() begins.
  faults.inject({ kind: 'dynamodb-slow', delayMs: 300 });
  const viaProxy = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const put = viaProxy.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'late' } } })).catch((error: Error) => error);
  await callArrived;

  await proxy.close();
  // The caller's connection was cut (as at shutdown), but the write it sent ran to its end before close() resolved.
  expect(await put).toBeInstanceOf(Error);
  const stored = await direct.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'late' } } }));
  expect(stored.Item?.id?.S).toBe('late');

  const after = viaProxy.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'late' } } }));
  await expect(after).rejects.toThrow(/ECONNREFUSED/);
  direct.destroy();
  viaProxy.destroy();
});

it('reports the request units DynamoDB charges for the items, asked for on the caller\'s behalf, and leaves the caller\'s own choice alone', async () => {
  const { dynalite, direct } = await dynaliteWithItemsTable();
  const reported: [string, string, number][] = [];
  const proxy = new DynamoProxy(dynalite.handle, new FaultController(), (table, name, value) => {
    if (name.startsWith('Consumed')) reported.push([table, name, value]);
  });
  const viaProxy = new DynamoDBClient({ endpoint: await proxy.listen(), region: 'us-east-1', credentials, maxAttempts: 1 });
  // 3 KB of text: three write units (1 KB each); one strongly consistent read unit (4 KB each), half when eventual.
  await viaProxy.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'big' }, text: { S: 'x'.repeat(3000) } } }));
  await viaProxy.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'small' } } }));
  await viaProxy.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'big' } }, ConsistentRead: true }));
  const eventual = await viaProxy.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'big' } } }));
  const own = await viaProxy.send(new QueryCommand({
    TableName: 'items',
    KeyConditionExpression: 'id = :id',
    ExpressionAttributeValues: { ':id': { S: 'small' } },
    ReturnConsumedCapacity: 'INDEXES',
  }));
  await proxy.close();
  expect(reported).toEqual([
    ['items', 'ConsumedWriteCapacityUnits', 3],
    ['items', 'ConsumedWriteCapacityUnits', 1],
    ['items', 'ConsumedReadCapacityUnits', 1],
    ['items', 'ConsumedReadCapacityUnits', 0.5],
    ['items', 'ConsumedReadCapacityUnits', 0.5],
  ]);
  expect(eventual.Item?.text?.S).toHaveLength(3000);
  // The caller asked for INDEXES itself: its answer is DynamoDB's, table breakdown included.
  expect(own.ConsumedCapacity?.Table?.CapacityUnits).toBe(0.5);
  direct.destroy();
  viaProxy.destroy();
});

it('counts one unit for an answer that reports no capacity, and one entry per table for a batch', () => {
  expect(consumedCapacity('{}')).toEqual([{ units: 1 }]);
  expect(consumedCapacity('not json')).toEqual([{ units: 1 }]);
  expect(consumedCapacity('{"ConsumedCapacity":[{"TableName":"a","CapacityUnits":2},{"TableName":"b","CapacityUnits":0.5}]}')).toEqual([
    { table: 'a', units: 2 },
    { table: 'b', units: 0.5 },
  ]);
});

it("counts an injected slowness in SuccessfulRequestLatency, as a slow DynamoDB's own latency", async () => {
  const { dynalite, direct } = await dynaliteWithItemsTable();
  const faults = new FaultController();
  const latencies: { table: string; value: number; extra?: Record<string, string> }[] = [];
  const proxy = new DynamoProxy(dynalite.handle, faults, (table, name, value, extra) => {
    if (name === 'SuccessfulRequestLatency') latencies.push({ table, value, extra });
  }, () => undefined);
  const viaProxy = new DynamoDBClient({ endpoint: await proxy.listen(), region: 'us-east-1', credentials, maxAttempts: 1 });
  faults.inject({ kind: 'dynamodb-slow', delayMs: 250 });
  await viaProxy.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'slow' } } }));
  await expect.poll(() => latencies.length).toBe(1);
  expect(latencies[0]).toMatchObject({ table: 'items', extra: { Operation: 'PutItem' } });
  expect(latencies[0]!.value).toBeGreaterThanOrEqual(250);
  await proxy.close();
  direct.destroy();
  viaProxy.destroy();
});
