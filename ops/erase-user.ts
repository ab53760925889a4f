/**
 * Erases a user (a data-subject request, docs/operations.md#erasing-a-user-data-subject-requests): closes their
 * connections, then deletes their messages, the files they attached, their memberships, presence, invitations
 * (roles), connection records and connection slots, as an operator holding the stage's operator policy
 * (infra/constructs/operators.ts) may.
 *
 * No table is keyed or indexed by a message's author, so messages (and memberships, presence, roles, connections
 * and attachments) are found by a scan filtered on the user. An erasure is rare (a request a week is a lot); an
 * index by author would cost a second write on every message sent, forever, to make that rare job faster.
 *
 * Erased messages are deleted, not left as tombstones: clients skip seqs a history page lacks (throughSeq,
 * docs/protocol.md#retention). Each room's seq counter is first raised to the erased seq, so a send that read an
 * older counter cannot take the freed slot and reuse a seq readers have already seen.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, DynamoDBDocumentClient, paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoChatStore } from '../functions/adapters/dynamodb-store.ts';
import type { AttachmentRecord, ConnectionRecord, Membership, StoredMessage } from '../functions/app/ports.ts';
import { TABLES, type TableKey } from '../functions/catalog/tables.ts';
import { attachmentKey } from '../functions/domain/attachments.ts';
import { disconnectUser } from './disconnect-user.ts';

export interface EraseUserOptions {
  readonly dynamodb: DynamoDBClient;
  readonly connections: ApiGatewayManagementApiClient;
  readonly s3: S3Client;
  /** The stage's physical table names. */
  readonly tables: Readonly<Record<TableKey, string>>;
  readonly attachmentsBucket: string;
  readonly user: string;
}

export interface EraseOutcome {
  readonly connectionsClosed: number;
  readonly messages: number;
  readonly attachments: number;
  readonly memberships: number;
  readonly presence: number;
  readonly roles: number;
  readonly connectionRecords: number;
  readonly slots: number;
}

/** The attribute each table's items name their user by: the port records' fields, checked by the compiler. */
const AUTHOR = 'user' satisfies keyof StoredMessage;
const MEMBER = 'userId' satisfies keyof Membership;
const CONNECTION_USER = 'userId' satisfies keyof ConnectionRecord;
const UPLOADER = 'uploader' satisfies keyof AttachmentRecord;

type Item = Record<string, unknown>;

export async function eraseUser(options: EraseUserOptions): Promise<EraseOutcome> {
  const db = DynamoDBDocumentClient.from(options.dynamodb);
  const { tables, user } = options;
  // The service's own adapter raises a room's counter, as a send does after storing a message.
  const store = new DynamoChatStore(db, tables);
  // First, so no connection of theirs sends while their messages are being deleted.
  const disconnected = await disconnectUser({ dynamodb: options.dynamodb, connections: options.connections, slotsTable: tables.slots, user });

  const deleteAll = async (table: TableKey, items: readonly Item[]) => {
    for (const item of items) await db.send(new DeleteCommand({ TableName: tables[table], Key: keyOf(table, item) }));
    return items.length;
  };
  const scanFor = (table: TableKey, attribute: string) => scanByUser(db, tables[table], attribute, user);

  let messages = 0;
  for (const message of await scanFor('messages', AUTHOR)) {
    await store.advanceSeqHint(message.room as string, message.seq as number);
    messages += await deleteAll('messages', [message]);
  }
  let attachments = 0;
  for (const record of await scanFor('attachments', UPLOADER)) {
    const key = attachmentKey(record.room as string, user, record[TABLES.attachments.hashKey.name] as string);
    await options.s3.send(new DeleteObjectCommand({ Bucket: options.attachmentsBucket, Key: key }));
    attachments += await deleteAll('attachments', [record]);
  }
  const memberships = await deleteAll('memberships', await scanFor('memberships', MEMBER));
  const presence = await deleteAll('presence', await scanFor('presence', TABLES.presence.rangeKey.name));
  const roles = await deleteAll('roles', await scanFor('roles', TABLES.roles.rangeKey.name));
  const connectionRecords = await deleteAll('connections', await scanFor('connections', CONNECTION_USER));
  const slots = await deleteAll('slots', await userSlots(db, tables.slots, user));
  return {
    connectionsClosed: disconnected.closed.length,
    messages,
    attachments,
    memberships,
    presence,
    roles,
    connectionRecords,
    slots,
  };
}

function keyOf(table: TableKey, item: Item): Item {
  const schema = TABLES[table];
  const names = [schema.hashKey.name, 'rangeKey' in schema ? schema.rangeKey.name : undefined].filter((n) => n !== undefined);
  return Object.fromEntries(names.map((name) => [name, item[name]]));
}

/** Every item of the table whose `attribute` is the user, with all pages of the scan read. */
async function scanByUser(db: DynamoDBDocumentClient, table: string, attribute: string, user: string): Promise<Item[]> {
  const found: Item[] = [];
  const pages = paginateScan(
    { client: db },
    { TableName: table, FilterExpression: '#user = :user', ExpressionAttributeNames: { '#user': attribute }, ExpressionAttributeValues: { ':user': user } },
  );
  for await (const page of pages) found.push(...(page.Items ?? []));
  return found;
}

async function userSlots(db: DynamoDBDocumentClient, table: string, user: string): Promise<Item[]> {
  const found: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#user = :user',
        ExpressionAttributeNames: { '#user': TABLES.slots.hashKey.name },
        ExpressionAttributeValues: { ':user': user },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    found.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return found;
}
