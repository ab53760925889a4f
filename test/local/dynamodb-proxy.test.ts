/**
 * Shutting the local DynamoDB down while a function's call is still inside the proxy: close() must wait for that
 * call's answer, or dynalite runs the write against a closed database and throws an uncaught "Database is closed"
 * (seen in CI from the Lambda drills' stack teardown).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, expect, it } from 'vitest';
import { DynamoProxy } from '../../local/dynamodb-proxy.ts';
import { startDynalite, type DynamoEndpoint } from '../../local/dynamodb.ts';
import { FaultController } from '../../local/faults.ts';

const credentials = { accessKeyId: 'TEST', secretAccessKey: 'test' };
let dynalite: DynamoEndpoint | undefined;

afterEach(async () => {
  await dynalite?.close();
});

it('close() waits for a call already handed to the embedded DynamoDB, then refuses new ones', async () => {
  dynalite = await startDynalite();
  const direct = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials });
  await direct.send(
    new CreateTableCommand({
      TableName: 'items',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
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
