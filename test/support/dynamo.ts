/**
 * A real DynamoDB API for tests: dynalite on a random loopback port, with every table of the catalog created
 * (same keys and indexes as infra renders them) under names unique to the calling test file.
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


export const TEST_REGION = 'us-east-1';
/** dynalite accepts any signature; the SDK only needs something to sign with. */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

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

/** Starts dynalite and creates every catalog table; `prefix` keeps names apart between test files. */
export async function startDynamo(prefix = 'test'): Promise<TestDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server);
  const endpoint = `http://127.0.0.1:${port}`;
  const raw = new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: FAKE_CREDENTIALS });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });

  const suffix = randomBytes(4).toString('hex');
  const tableNames = Object.fromEntries(TABLE_KEYS.map((t) => [t, `${prefix}-${t}-${suffix}`])) as Record<TableKey, string>;
  for (const table of TABLE_KEYS) {
    await raw.send(new CreateTableCommand(createTableInput(tableNames[table], TABLES[table])));
  }

  return {
    client,
    raw,
    tableNames,
    endpoint,
    close: async () => {
      raw.destroy();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
