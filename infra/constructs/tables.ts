import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { TABLE_KEYS, TABLES, type KeyAttribute, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { resourceName, type StageConfig } from '../config/stages.ts';

/** Every key attribute a table declares (its own and its indexes'), once each, in a stable order. */
function keyAttributes(schema: TableSchema): KeyAttribute[] {
  const all = [schema.hashKey, schema.rangeKey, ...(schema.indexes ?? []).flatMap((i) => [i.hashKey, i.rangeKey])];
  const byName = new Map<string, KeyAttribute>();
  for (const attribute of all) if (attribute) byName.set(attribute.name, attribute);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface ChatTablesProps {
  readonly stage: StageConfig;
  /** Customer-managed KMS key; without one, tables use the AWS-managed DynamoDB key. */
  readonly kmsKeyArn?: string;
}

/** The DynamoDB tables of one stage, rendered from the table catalog. */
export class ChatTables extends Construct {
  readonly tables: Record<TableKey, DynamodbTable>;

  constructor(scope: Construct, id: string, { stage, kmsKeyArn }: ChatTablesProps) {
    super(scope, id);
    this.tables = Object.fromEntries(
      TABLE_KEYS.map((key) => {
        const schema: TableSchema = TABLES[key];
        const table = new DynamodbTable(this, key, {
          name: resourceName(stage, key),
          billingMode: 'PAY_PER_REQUEST',
          hashKey: schema.hashKey.name,
          rangeKey: schema.rangeKey?.name,
          attribute: keyAttributes(schema),
          globalSecondaryIndex: schema.indexes?.map((index) => ({
            name: index.name,
            hashKey: index.hashKey.name,
            rangeKey: index.rangeKey?.name,
            // Indexes serve key lookups only (which rooms a connection is in), so keys are all they carry.
            projectionType: 'KEYS_ONLY',
          })),
          ttl: schema.ttlAttribute ? { attributeName: schema.ttlAttribute, enabled: true } : undefined,
          pointInTimeRecovery: { enabled: stage.pointInTimeRecovery && schema.pointInTimeRecovery },
          serverSideEncryption: { enabled: true, kmsKeyArn },
          deletionProtectionEnabled: stage.deletionProtection,
          tags: { table: key },
        });
        return [key, table];
      }),
    ) as Record<TableKey, DynamodbTable>;
    new TerraformOutput(this, 'table_names', {
      value: Object.fromEntries(TABLE_KEYS.map((key) => [key, this.tables[key].name])),
      description: 'Physical DynamoDB table name per catalog table',
    }).overrideLogicalId('table_names');
  }
}
