/**
 * The synthesized dev plan on the official DynamoDB Local instead of embedded dynalite (what `npm start --
 * --dynamodb-endpoint` does): the plan's tables, every function's calls through the IAM-checking proxy, and the
 * TTL sweeper, all against AWS's own emulator.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TABLE_KEYS } from '../../functions/catalog/tables.ts';
import { FAKE_CREDENTIALS } from '../support/dynamo.ts';
import { startDynamoDbLocal, type DynamoServer } from '../support/dynamodb-local.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';

let server: DynamoServer;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;

const tableNamed = (table: string) => stack.tables.find((t) => t.endsWith(`-${table}`)) as string;

async function connectionsOf(user: string) {
  const { Items } = await db.send(new ScanCommand({ TableName: tableNamed('connections'), ConsistentRead: true }));
  return (Items ?? []).filter((item) => item.userId === user);
}

// Hooks run in this order (and are undone in reverse): DynamoDB Local, then the stack on it, then the clients.
beforeAll(async () => {
  server = await startDynamoDbLocal();
});
afterAll(async () => {
  await server?.stop();
});

const { stack, connect } = useStack(() => bootDevStack({ dynamoEndpoint: server.endpoint, ttlSweepMs: 500 }));

beforeAll(() => {
  raw = new DynamoDBClient({ endpoint: server.endpoint, region: stack.region, credentials: FAKE_CREDENTIALS });
  db = DynamoDBDocumentClient.from(raw);
});

afterAll(() => {
  raw?.destroy();
});

it('creates every table of the plan on DynamoDB Local', async () => {
  expect(stack.dynamoEndpoint).toBe(server.endpoint);
  expect(stack.tables).toHaveLength(TABLE_KEYS.length);
  const { TableNames } = await raw.send(new ListTablesCommand({}));
  expect([...(TableNames ?? [])].sort()).toEqual([...stack.tables].sort());
});

it('connects, joins, sends, acks and delivers, and the functions wrote it all to DynamoDB Local', async () => {
  const [alice, bob] = await Promise.all([connect('alice'), connect('bob')]);
  expect(await alice.request({ action: 'join', room: 'ddb-local' }, 'joined')).toMatchObject({ lastSeq: 0, members: ['alice'] });
  expect(await bob.request({ action: 'join', room: 'ddb-local' }, 'joined')).toMatchObject({ members: ['alice', 'bob'] });

  const ack = await alice.request({ action: 'send', room: 'ddb-local', text: 'on the official emulator', clientMsgId: 'm-1' }, 'ack');
  expect(ack).toMatchObject({ type: 'ack', room: 'ddb-local', clientMsgId: 'm-1', seq: 1 });
  const delivered = await bob.next((f) => f.type === 'message' && f.seq === 1);
  expect(delivered).toMatchObject({ id: ack.id, user: 'alice', text: 'on the official emulator' });
  // A retry of the same clientMsgId is answered from the idempotency record, not stored twice.
  expect(await alice.request({ action: 'send', room: 'ddb-local', text: 'on the official emulator', clientMsgId: 'm-1' }, 'ack')).toEqual(ack);

  const { Item } = await db.send(new GetCommand({ TableName: tableNamed('messages'), Key: { room: 'ddb-local', seq: 1 }, ConsistentRead: true }));
  expect(Item).toMatchObject({ id: ack.id, user: 'alice', text: 'on the official emulator', clientMsgId: 'm-1' });
  const history = await bob.request({ action: 'history', room: 'ddb-local' }, 'history');
  expect(history).toMatchObject({ messages: [{ seq: 1, id: ack.id }], hasMore: false });

  expect(await connectionsOf('bob')).toHaveLength(1);
  await bob.close();
  await expect.poll(() => connectionsOf('bob'), { timeout: 10_000 }).toHaveLength(0);
});

it('sweeps items whose TTL passed from DynamoDB Local and keeps live ones', async () => {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const item = (connectionId: string, expiresAt: number) => ({ connectionId, userId: 'ttl', connectedAt: Date.now(), expiresAt });
  await db.send(new PutCommand({ TableName: tableNamed('connections'), Item: item('expired', nowSeconds - 60) }));
  await db.send(new PutCommand({ TableName: tableNamed('connections'), Item: item('live', nowSeconds + 3600) }));
  await expect
    .poll(async () => (await connectionsOf('ttl')).map((c) => c.connectionId), { timeout: 10_000 })
    .toEqual(['live']);
});
