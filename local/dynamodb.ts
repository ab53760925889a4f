/** The local DynamoDB: embedded dynalite (or any endpoint), tables created from the plan, TTL emulated. */
import { CreateTableCommand, DynamoDBClient, ResourceInUseException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StackPlan } from './plan.ts';

export interface DynamoEndpoint {
  readonly endpoint: string;
  /** The server's request listener, for callers in this process that need no HTTP connection of their own. */
  readonly handle: RequestListener;
  close(): Promise<void>;
}

/** @param dataDir keep the data in this directory (LevelDB) across restarts; in memory when absent. */
export async function startDynalite(port = 0, dataDir?: string): Promise<DynamoEndpoint> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dataDir ? { path: dataDir } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${actual}`,
    handle: server.listeners('request')[0] as RequestListener,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Clients the local runtime itself uses (table setup, TTL); functions use their own from the bundle. */
export function localDynamoClient(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region,
    // Letters and digits only: DynamoDB Local refuses any other access key id (UnrecognizedClientException).
    credentials: { accessKeyId: 'LOCALRUNTIME', secretAccessKey: 'local-runtime' },
  });
}

interface TableConfig {
  name: string;
  hash_key: string;
  range_key?: string;
  attribute: { name: string; type: 'S' | 'N' | 'B' }[];
  global_secondary_index?: { name: string; hash_key: string; range_key?: string; projection_type: string }[];
  ttl?: { attribute_name: string; enabled: boolean };
}

function keySchema(hash: string, range?: string) {
  return [{ AttributeName: hash, KeyType: 'HASH' as const }, ...(range ? [{ AttributeName: range, KeyType: 'RANGE' as const }] : [])];
}

export function tablesOf(plan: StackPlan): TableConfig[] {
  return plan.resources('aws_dynamodb_table').map(({ config }) => plan.resolve(config) as unknown as TableConfig);
}

export async function createTables(plan: StackPlan, client: DynamoDBClient): Promise<string[]> {
  const created: string[] = [];
  for (const table of tablesOf(plan)) {
    const input: CreateTableCommandInput = {
      TableName: table.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: table.attribute.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
      KeySchema: keySchema(table.hash_key, table.range_key),
      GlobalSecondaryIndexes: table.global_secondary_index?.map((index) => ({
        IndexName: index.name,
        KeySchema: keySchema(index.hash_key, index.range_key),
        Projection: { ProjectionType: index.projection_type as 'ALL' | 'KEYS_ONLY' },
      })),
    };
    try {
      await client.send(new CreateTableCommand(input));
      created.push(table.name);
    } catch (error) {
      // An external endpoint may keep tables from an earlier run.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  return created;
}

/**
 * DynamoDB deletes expired items lazily (up to days later) and dynalite never does; this sweeps them every
 * `intervalMs`, so code that forgets to filter expired items on read is caught locally too.
 */
export function startTtlSweeper(plan: StackPlan, client: DynamoDBClient, intervalMs: number): () => void {
  const db = DynamoDBDocumentClient.from(client);
  const tables = tablesOf(plan).filter((t) => t.ttl?.enabled);
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const now = Math.floor(Date.now() / 1000);
      for (const table of tables) {
        const ttl = table.ttl?.attribute_name as string;
        const pages = paginateScan(
          { client: db },
          {
            TableName: table.name,
            FilterExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': ttl },
            ExpressionAttributeValues: { ':now': now },
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            const Key = Object.fromEntries([table.hash_key, table.range_key].filter(Boolean).map((k) => [k, item[k as string]]));
            await db.send(new DeleteCommand({ TableName: table.name, Key }));
          }
        }
      }
    } catch {
      // The endpoint may be briefly unreachable (fault drills); the next sweep catches up.
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
