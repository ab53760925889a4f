/**
 * A real DynamoDB API for tests: dynalite (or the official DynamoDB Local) on a random loopback port, with every
 * table of the catalog created (same keys and indexes as infra renders them) under names unique to the calling
 * test file.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import {
  CreateTableCommand,
  DynamoDBClient,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES, TABLE_KEYS, type KeyAttribute, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import type { DynamoServer } from './dynamodb-local.ts';

export const TEST_REGION = 'us-east-1';
/** Neither emulator checks signatures; DynamoDB Local only accepts an access key of letters and digits. */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

/** A DynamoDB API server a suite can run on. */
export interface DynamoBackend {
  readonly name: string;
  start(): Promise<DynamoServer>;
}

export interface TestDynamo {
  readonly client: DynamoDBDocumentClient;
  readonly raw: DynamoDBClient;
  readonly tableNames: Record<TableKey, string>;
  readonly endpoint: string;
  close(): Promise<void>;
}

function keySchema(hash: KeyAttribute, range?: KeyAttribute): KeySchemaElement[] {
  return [{ AttributeName: hash.name, KeyType: 'HASH' }, ...(range ? [{ AttributeName: range.name, KeyType: 'RANGE' as const }] : [])];
}

export function createTableInput(tableName: string, schema: TableSchema): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const define = (a: KeyAttribute | undefined) => {
    if (a) attributes.set(a.name, { AttributeName: a.name, AttributeType: a.type });
  };
  define(schema.hashKey);
  define(schema.rangeKey);
  for (const index of schema.indexes ?? []) {
    define(index.hashKey);
    define(index.rangeKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: keySchema(schema.hashKey, schema.rangeKey),
    ...(schema.indexes?.length
      ? {
          GlobalSecondaryIndexes: schema.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(index.hashKey, index.rangeKey),
            Projection: { ProjectionType: 'KEYS_ONLY' as const },
          })),
        }
      : {}),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export const DYNALITE: DynamoBackend = {
  name: 'dynalite',
  async start() {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const port = await listen(server);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      stop: () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    };
  },
};

/** AWS's own emulator: slower to start (a JVM), closer to DynamoDB. */
export const DYNAMODB_LOCAL: DynamoBackend = {
  name: 'DynamoDB Local',
  // Loaded on use: it imports the local runtime (for freePort), which suites on dynalite alone need not load.
  start: async () => (await import('./dynamodb-local.ts')).startDynamoDbLocal(),
};

/** Store contracts run on both, so a difference between the emulators fails a test instead of hiding. */
export const BACKENDS: readonly DynamoBackend[] = [DYNALITE, DYNAMODB_LOCAL];

/** Starts `backend` and creates every catalog table; `prefix` keeps names apart between test files. */
export async function startDynamo(prefix = 'test', backend: DynamoBackend = DYNALITE): Promise<TestDynamo> {
  const server = await backend.start();
  const { endpoint } = server;
  const raw = new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: FAKE_CREDENTIALS });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });

  const suffix = randomBytes(4).toString('hex');
  const tableNames = Object.fromEntries(TABLE_KEYS.map((t) => [t, `${prefix}-${t}-${suffix}`])) as Record<TableKey, string>;
  try {
    for (const table of TABLE_KEYS) {
      await raw.send(new CreateTableCommand(createTableInput(tableNames[table], TABLES[table])));
    }
  } catch (error) {
    raw.destroy();
    await server.stop();
    throw error;
  }

  return {
    client,
    raw,
    tableNames,
    endpoint,
    close: async () => {
      raw.destroy();
      await server.stop();
    },
  };
}
