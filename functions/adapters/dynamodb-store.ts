/** DynamoDB implementation of the ChatStore port. Key names come from the table catalog. */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TABLES, type TableKey } from '../catalog/tables.ts';
import { connectionRecordExpiresAt, isExpired } from '../domain/lifetime.ts';
import { isPresent, presenceRecordExpiresAt, type PresenceRecord } from '../domain/presence.ts';
import { windowEndedBy, type SendRateLimit } from '../domain/rate-limit.ts';
import { latestAdmittedArrival, tokenIntervalMs, type RouteRate } from '../domain/token-bucket.ts';
import type {
  ChatStore,
  ConnectionIdentity,
  ConnectionRecord,
  Membership,
  MessageRange,
  SendClaim,
  SendWindow,
  StoredMessage,
} from '../app/ports.ts';

export type TableNames = Readonly<Record<TableKey, string>>;

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Runs a conditional write; false when its condition did not hold. */
async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

const membershipIndex = TABLES.memberships.indexes[0].name;

/**
 * A presence item keeps each connection as a top-level attribute `conn:<connectionId>` = its expiry, so adding
 * or removing one is a single write that needs no existing map, and the old or new image decides presence.
 */
const PRESENCE_CONNECTION_PREFIX = 'conn:';

function presenceRecord(item: Record<string, unknown> | undefined): PresenceRecord | undefined {
  if (!item) return undefined;
  const connections = Object.fromEntries(
    Object.entries(item)
      .filter(([name]) => name.startsWith(PRESENCE_CONNECTION_PREFIX))
      .map(([name, expiresAt]) => [name.slice(PRESENCE_CONNECTION_PREFIX.length), expiresAt as number]),
  );
  return { connections, expiresAt: item.expiresAt as number | undefined };
}

const toSeconds = (ms: number) => Math.floor(ms / 1000);

/** The connection item's attribute holding a route's token bucket (its arrival time, epoch ms). */
const routeBucketAttribute = (route: string) => `bucket:${route}`;

export class DynamoChatStore implements ChatStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async putConnection(connection: ConnectionRecord): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tables.connections, Item: { ...connection, lastSeen: connection.connectedAt } }),
    );
  }

  async deleteConnection(connectionId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.connections, Key: { connectionId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async touchConnection(connection: ConnectionIdentity, nowMs: number): Promise<void> {
    // Losing the condition means a later request already recorded a later lastSeen: nothing to do.
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId: connection.connectionId },
          UpdateExpression: 'SET userId = :user, connectedAt = :connectedAt, lastSeen = :now, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(lastSeen) OR lastSeen <= :now',
          ExpressionAttributeValues: {
            ':user': connection.userId,
            ':connectedAt': connection.connectedAt,
            ':now': nowMs,
            ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
          },
        }),
      ),
    );
  }

  async countSendInWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId: connection.connectionId },
          UpdateExpression: 'SET sendCount = sendCount + :one',
          ConditionExpression: 'sendWindowStart > :ended AND sendCount < :max',
          ExpressionAttributeValues: {
            ':one': 1,
            ':ended': windowEndedBy(limit, nowMs),
            ':max': limit.maxSends,
          },
        }),
      ),
    );
  }

  async openSendWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean> {
    // Opening a window is activity too (at most once per window, so it costs nothing extra): it refreshes
    // lastSeen and the expiry, and rewrites the identity in case the item expired while the socket stayed open.
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId: connection.connectionId },
          UpdateExpression:
            'SET sendWindowStart = :now, sendCount = :one, ' +
            'userId = :user, connectedAt = :connectedAt, lastSeen = :now, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(sendWindowStart) OR sendWindowStart <= :ended',
          ExpressionAttributeValues: {
            ':one': 1,
            ':now': nowMs,
            ':user': connection.userId,
            ':connectedAt': connection.connectedAt,
            ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
            ':ended': windowEndedBy(limit, nowMs),
          },
        }),
      ),
    );
  }

  async readSendWindow(connectionId: string): Promise<SendWindow | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.connections,
        Key: { connectionId },
        ProjectionExpression: 'sendWindowStart, sendCount',
        ConsistentRead: true,
      }),
    );
    if (Item?.sendWindowStart === undefined) return undefined;
    return { start: Item.sendWindowStart as number, count: Item.sendCount as number };
  }

  async takeRouteToken(connection: ConnectionIdentity, route: string, rate: RouteRate, nowMs: number): Promise<boolean> {
    const names = { '#arrival': routeBucketAttribute(route) };
    const interval = tokenIntervalMs(rate);
    // A bucket in use with a token left: move its arrival time one interval on.
    const counted = await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId: connection.connectionId },
          UpdateExpression: 'SET #arrival = #arrival + :interval',
          ConditionExpression: '#arrival >= :now AND #arrival <= :latest',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':interval': interval, ':now': nowMs, ':latest': latestAdmittedArrival(rate, nowMs) },
        }),
      ),
    );
    if (counted) return true;
    // A bucket that is full (or new): this request is the first of a new burst. The identity is written only
    // where missing, so an item swept while the socket stayed open comes back as one that expires.
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId: connection.connectionId },
          UpdateExpression:
            'SET #arrival = :next, userId = if_not_exists(userId, :user), ' +
            'connectedAt = if_not_exists(connectedAt, :connectedAt), expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ConditionExpression: 'attribute_not_exists(#arrival) OR #arrival < :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':next': nowMs + interval,
            ':now': nowMs,
            ':user': connection.userId,
            ':connectedAt': connection.connectedAt,
            ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
          },
        }),
      ),
    );
  }

  async readRouteArrival(connectionId: string, route: string): Promise<number | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.connections,
        Key: { connectionId },
        ProjectionExpression: '#arrival',
        ExpressionAttributeNames: { '#arrival': routeBucketAttribute(route) },
        ConsistentRead: true,
      }),
    );
    return Item?.[routeBucketAttribute(route)] as number | undefined;
  }

  async putMembership(membership: Membership): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.memberships, Item: { ...membership } }));
  }

  async getMembership(room: string, connectionId: string, nowMs: number): Promise<Membership | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.memberships, Key: { room, connectionId }, ConsistentRead: true }),
    );
    const membership = Item as Membership | undefined;
    return membership && !isExpired(membership.expiresAt, nowMs) ? membership : undefined;
  }

  async deleteMembership(room: string, connectionId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.memberships, Key: { room, connectionId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined && !isExpired(Attributes.expiresAt as number, Date.now());
  }

  async listMembers(room: string, nowMs: number): Promise<Membership[]> {
    const items = await this.queryAll({
      TableName: this.tables.memberships,
      KeyConditionExpression: '#room = :room',
      ExpressionAttributeNames: { '#room': 'room' },
      ExpressionAttributeValues: { ':room': room },
      ConsistentRead: true,
    });
    return (items as unknown as Membership[]).filter((m) => !isExpired(m.expiresAt, nowMs));
  }

  async listRoomsOfConnection(connectionId: string): Promise<string[]> {
    // GSIs are eventually consistent: a room joined a moment ago may be missing; TTL and fan-out pruning catch it.
    const items = await this.queryAll({
      TableName: this.tables.memberships,
      IndexName: membershipIndex,
      KeyConditionExpression: 'connectionId = :c',
      ExpressionAttributeValues: { ':c': connectionId },
    });
    return items.map((item) => item.room as string);
  }

  async markTyping(room: string, connectionId: string, nowMs: number, intervalMs: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.memberships,
          Key: { room, connectionId },
          UpdateExpression: 'SET lastTypingAt = :now',
          // Never creates a membership: an absent or expired one fails the condition like a too-early event.
          ConditionExpression:
            'attribute_exists(connectionId) AND expiresAt > :nowSeconds AND ' +
            '(attribute_not_exists(lastTypingAt) OR lastTypingAt <= :cutoff)',
          ExpressionAttributeValues: { ':now': nowMs, ':nowSeconds': toSeconds(nowMs), ':cutoff': nowMs - intervalMs },
        }),
      ),
    );
  }

  async addPresence(membership: Membership, nowMs: number): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tables.presence,
        Key: { room: membership.room, userId: membership.userId },
        UpdateExpression: 'SET #connection = :connectionExpiresAt, expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#connection': `${PRESENCE_CONNECTION_PREFIX}${membership.connectionId}` },
        ExpressionAttributeValues: {
          ':connectionExpiresAt': membership.expiresAt,
          ':expiresAt': presenceRecordExpiresAt(nowMs),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return !isPresent(presenceRecord(Attributes), nowMs);
  }

  async removePresence(room: string, userId: string, connectionId: string, nowMs: number): Promise<boolean> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.presence,
          Key: { room, userId },
          UpdateExpression: 'REMOVE #connection',
          // Only the request that actually removes the connection may announce the departure.
          ConditionExpression: 'attribute_exists(#connection)',
          ExpressionAttributeNames: { '#connection': `${PRESENCE_CONNECTION_PREFIX}${connectionId}` },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return !isPresent(presenceRecord(Attributes), nowMs);
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async readSeqHint(room: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.rooms, Key: { room }, ConsistentRead: true }),
    );
    return (Item?.lastSeq as number | undefined) ?? 0;
  }

  async advanceSeqHint(room: string, seq: number): Promise<void> {
    // Losing this race is fine: someone else already raised the counter at least as far.
    await conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.rooms,
          Key: { room },
          UpdateExpression: 'SET lastSeq = :seq',
          ConditionExpression: 'attribute_not_exists(lastSeq) OR lastSeq < :seq',
          ExpressionAttributeValues: { ':seq': seq },
        }),
      ),
    );
  }

  async putMessageIfAbsent(message: StoredMessage): Promise<boolean> {
    return conditional(
      this.db.send(
        new PutCommand({
          TableName: this.tables.messages,
          Item: { ...message },
          ConditionExpression: 'attribute_not_exists(seq)',
        }),
      ),
    );
  }

  async getMessage(room: string, seq: number): Promise<StoredMessage | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.messages, Key: { room, seq }, ConsistentRead: true }),
    );
    return Item as StoredMessage | undefined;
  }

  async lastSeq(room: string): Promise<number> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.messages,
        KeyConditionExpression: '#room = :room',
        ExpressionAttributeNames: { '#room': 'room' },
        ExpressionAttributeValues: { ':room': room },
        ProjectionExpression: 'seq',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (Items?.[0]?.seq as number | undefined) ?? 0;
  }

  async queryMessages(room: string, range: MessageRange): Promise<StoredMessage[]> {
    const values: Record<string, unknown> = { ':room': room };
    let seqCondition = '';
    if (range.afterSeq !== undefined && range.beforeSeq !== undefined) {
      seqCondition = ' AND seq BETWEEN :from AND :to';
      values[':from'] = range.afterSeq + 1;
      values[':to'] = range.beforeSeq - 1;
    } else if (range.afterSeq !== undefined) {
      seqCondition = ' AND seq > :after';
      values[':after'] = range.afterSeq;
    } else if (range.beforeSeq !== undefined) {
      seqCondition = ' AND seq < :before';
      values[':before'] = range.beforeSeq;
    }
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.messages,
        KeyConditionExpression: `#room = :room${seqCondition}`,
        ExpressionAttributeNames: { '#room': 'room' },
        ExpressionAttributeValues: values,
        ScanIndexForward: range.direction === 'asc',
        Limit: range.limit,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []) as StoredMessage[];
  }

  async claimSend(claim: SendClaim, nowMs: number): Promise<SendClaim | undefined> {
    const created = await conditional(
      this.db.send(
        new PutCommand({
          TableName: this.tables.idempotency,
          Item: { ...claim },
          // An expired record may linger until TTL deletes it; it no longer counts.
          ConditionExpression: 'attribute_not_exists(#key) OR expiresAt <= :now',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
        }),
      ),
    );
    if (created) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.idempotency, Key: { key: claim.key }, ConsistentRead: true }),
    );
    return Item as SendClaim;
  }

  async moveClaim(key: string, owner: string, seq: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.idempotency,
          Key: { key },
          UpdateExpression: 'SET seq = :seq',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':seq': seq, ':owner': owner },
        }),
      ),
    );
  }

  async markFannedOut(key: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.idempotency,
        Key: { key },
        UpdateExpression: 'SET fannedOut = :done',
        ConditionExpression: 'attribute_exists(#key)',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':done': true },
      }),
    );
  }

  async takeOverClaim(previous: SendClaim, owner: string, leaseUntil: number): Promise<boolean> {
    return conditional(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.idempotency,
          Key: { key: previous.key },
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :lease',
          ConditionExpression: '#owner = :previousOwner AND leaseUntil = :previousLease',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':lease': leaseUntil,
            ':previousOwner': previous.owner,
            ':previousLease': previous.leaseUntil,
          },
        }),
      ),
    );
  }

  async releaseClaim(key: string, owner: string): Promise<void> {
    // Losing the condition means another request took the claim over: it is theirs to finish.
    await conditional(
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.idempotency,
          Key: { key },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  private async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }
}
