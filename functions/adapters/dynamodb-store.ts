/**
 * DynamoDB implementation of the ChatStore port. Key, index and TTL attribute names come from the table catalog;
 * items are the port's records as they are, so their fields must carry those names (ItemOf checks it).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TABLES, type TableKey, type TableSchema } from '../catalog/tables.ts';
import type { GrantedRole, RoomSettings, Visibility } from '../domain/access.ts';
import { rotated, type SlotHolder } from '../domain/connection-quota.ts';
import type { Counter } from '../domain/room-limits.ts';
import { connectionExpiresAt, connectionRecordExpiresAt, isExpired } from '../domain/lifetime.ts';
import { isPresent, presenceRecordExpiresAt, type PresenceRecord } from '../domain/presence.ts';
import { windowEndedBy, type SendRateLimit } from '../domain/rate-limit.ts';
import { latestAdmittedArrival, tokenIntervalMs, type RouteRate } from '../domain/token-bucket.ts';
import type {
  AttachmentRecord,
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

type Schema<T extends TableKey> = (typeof TABLES)[T];
type ConditionalWrite = PutCommand | UpdateCommand | DeleteCommand;
/** The names of a table's key attributes and TTL attribute in the catalog. */
type CatalogFields<T extends TableKey> =
  | Schema<T>['hashKey']['name']
  | (Schema<T> extends { readonly rangeKey: { readonly name: infer Range extends string } } ? Range : never)
  | (Schema<T> extends { readonly ttlAttribute: infer Ttl extends string } ? Ttl : never);
/** A port record stored as an item of `T`: a type error here means the catalog renamed a field the record lacks. */
type ItemOf<T extends TableKey> = Readonly<Record<CatalogFields<T>, unknown>>;

/** A table's primary key for these values, named as the catalog names its key attributes. */
function keyOf(table: TableKey, hash: string, range?: string | number): Record<string, string | number> {
  const schema: TableSchema = TABLES[table];
  if (!schema.rangeKey) return { [schema.hashKey.name]: hash };
  if (range === undefined) throw new Error(`the ${table} table's key needs its ${schema.rangeKey.name}`);
  return { [schema.hashKey.name]: hash, [schema.rangeKey.name]: range };
}

const hashKey = (table: TableKey) => TABLES[table].hashKey.name;
const membershipIndex = TABLES.memberships.indexes[0];
/** The catalog's rangeKey of the messages table: the seq. */
const messageSeq = TABLES.messages.rangeKey.name;
type ExpiringTable = { [T in TableKey]: Schema<T> extends { readonly ttlAttribute: string } ? T : never }[TableKey];
/** `#ttl` in an expression: the attribute the table's TTL expires items by. */
const ttlName = (table: ExpiringTable) => ({ '#ttl': TABLES[table].ttlAttribute });

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
  return { connections, expiresAt: item[TABLES.presence.ttlAttribute] as number | undefined };
}

const toSeconds = (ms: number) => Math.floor(ms / 1000);

/**
 * A slot item names the connection holding it by that connection's key in the connections table, so the holder's
 * attribute is named as the catalog names that key.
 */
const SLOT_HOLDER = TABLES.connections.hashKey.name;
/** `#user`, `#slot`, `#holder` and `#ttl` in the slots table's expressions, named as the catalog names them. */
const SLOT_NAMES = {
  '#user': TABLES.slots.hashKey.name,
  '#slot': TABLES.slots.rangeKey.name,
  '#holder': SLOT_HOLDER,
  ...ttlName('slots'),
} as const;

interface SlotItem extends Omit<SlotHolder, 'hasItem'> {
  readonly expiresAt: number;
}

/** The slot item's record of when its holder claimed it (epoch ms). */
const SLOT_CLAIMED_AT = 'claimedAt';

const slotItem = (item: Record<string, unknown>): SlotItem => ({
  slot: item[TABLES.slots.rangeKey.name] as number,
  connectionId: item[SLOT_HOLDER] as string,
  // A slot claimed by a version that did not record the claim is at least as old as this version's deploy.
  claimedAt: (item[SLOT_CLAIMED_AT] as number | undefined) ?? 0,
  expiresAt: item[TABLES.slots.ttlAttribute] as number,
});

/** The connection item's count of the rooms it is in. */
const CONNECTION_ROOMS = 'roomCount';
/**
 * A room's count of users present is one item of the presence table, under a sort key no user id can take (user
 * ids start with a letter or digit), not on the room item: every function that announces departures would need
 * UpdateItem on the room item, which holds the room's visibility and owner only join may write.
 */
const ROOM_MEMBERS_KEY = '#members';
const ROOM_MEMBERS = 'memberCount';

/** The connection item's attribute holding a route's token bucket (its arrival time, epoch ms). */
const routeBucketAttribute = (route: string) => `bucket:${route}`;

export class DynamoChatStore implements ChatStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  /** Sends a single-item conditional write: false when its condition did not hold (the one place that maps it). */
  private writeIf(command: ConditionalWrite): Promise<boolean> {
    // send() is typed per command class; only whether the condition held is read here.
    return conditional(this.db.send(command as UpdateCommand));
  }

  async putConnection(connection: ConnectionRecord): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tables.connections, Item: { ...(connection satisfies ItemOf<'connections'>), lastSeen: connection.connectedAt } }),
    );
  }

  async deleteConnection(connectionId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.connections, Key: keyOf('connections', connectionId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  /** Writes this connection into the slot if `condition` holds: false when it did not. */
  private holdSlot(connection: ConnectionIdentity, slot: number, nowMs: number, condition: string, names: Record<string, string>, values: Record<string, unknown>) {
    return this.writeIf(new PutCommand({
      TableName: this.tables.slots,
      Item: {
        ...keyOf('slots', connection.userId, slot),
        [SLOT_HOLDER]: connection.connectionId,
        [SLOT_CLAIMED_AT]: nowMs,
        [TABLES.slots.ttlAttribute]: connectionExpiresAt(connection.connectedAt),
      },
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }));
  }

  async claimConnectionSlot(connection: ConnectionIdentity, limit: number, nowMs: number): Promise<true | SlotHolder[]> {
    // One consistent read of the user's slots, then a write to a free one: a handshake costs O(1) writes, not one
    // per slot already held. Losing a race for a slot moves on to the next free one.
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.slots,
        KeyConditionExpression: '#user = :user AND #slot < :limit',
        ExpressionAttributeNames: { '#user': SLOT_NAMES['#user'], '#slot': SLOT_NAMES['#slot'] },
        ExpressionAttributeValues: { ':user': connection.userId, ':limit': limit },
        ConsistentRead: true,
      }),
    );
    // TTL deletes lazily: an item past its expiry is free although it is still there.
    const held = Items.map(slotItem).filter((item) => !isExpired(item.expiresAt, nowMs));
    const live = new Set(held.map((item) => item.slot));
    const free = Array.from({ length: limit }, (_, slot) => slot).filter((slot) => !live.has(slot));
    // Racing handshakes of one user try the free slots from different places (by their connection id).
    for (const slot of rotated(free, connection.connectionId)) {
      const claimed = await this.holdSlot(
        connection,
        slot,
        nowMs,
        'attribute_not_exists(#user) OR #ttl <= :now',
        { '#user': SLOT_NAMES['#user'], '#ttl': SLOT_NAMES['#ttl'] },
        { ':now': toSeconds(nowMs) },
      );
      if (claimed) return true;
    }
    // Every slot is held: the holders' items are read at once (a refused handshake waits for one read, not one
    // per slot), so the caller knows which holders left.
    return Promise.all(
      held.map(async (holder) => {
        const { Item } = await this.db.send(
          new GetCommand({ TableName: this.tables.connections, Key: keyOf('connections', holder.connectionId), ConsistentRead: true }),
        );
        return { ...holder, hasItem: Item !== undefined };
      }),
    );
  }

  takeOverConnectionSlot(connection: ConnectionIdentity, holder: Pick<SlotHolder, 'slot' | 'connectionId'>, nowMs: number): Promise<boolean> {
    return this.holdSlot(connection, holder.slot, nowMs, '#holder = :stale', { '#holder': SLOT_HOLDER }, { ':stale': holder.connectionId });
  }

  async releaseConnectionSlot(connection: Pick<ConnectionIdentity, 'connectionId' | 'userId'>): Promise<void> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.slots,
        KeyConditionExpression: '#user = :user',
        FilterExpression: '#holder = :connection',
        ExpressionAttributeNames: { '#user': SLOT_NAMES['#user'], '#holder': SLOT_NAMES['#holder'] },
        ExpressionAttributeValues: { ':user': connection.userId, ':connection': connection.connectionId },
        ConsistentRead: true,
      }),
    );
    for (const item of Items.map(slotItem)) {
      // Only while it is still this connection's: a handshake may have taken the slot over already.
      await this.writeIf(new DeleteCommand({
        TableName: this.tables.slots,
        Key: keyOf('slots', connection.userId, item.slot),
        ConditionExpression: '#holder = :connection',
        ExpressionAttributeNames: { '#holder': SLOT_NAMES['#holder'] },
        ExpressionAttributeValues: { ':connection': connection.connectionId },
      }));
    }
  }

  async touchConnection(connection: ConnectionIdentity, nowMs: number): Promise<void> {
    // Losing the condition means a later request already recorded a later lastSeen: nothing to do.
    await this.writeIf(new UpdateCommand({
      TableName: this.tables.connections,
      Key: keyOf('connections', connection.connectionId),
      UpdateExpression: 'SET userId = :user, connectedAt = :connectedAt, lastSeen = :now, #ttl = :expiresAt',
      ConditionExpression: 'attribute_not_exists(lastSeen) OR lastSeen <= :now',
      ExpressionAttributeNames: ttlName('connections'),
      ExpressionAttributeValues: {
        ':user': connection.userId,
        ':connectedAt': connection.connectedAt,
        ':now': nowMs,
        ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
      },
    }));
  }

  async countSendInWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean> {
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.connections,
      Key: keyOf('connections', connection.connectionId),
      UpdateExpression: 'SET sendCount = sendCount + :one',
      ConditionExpression: 'sendWindowStart > :ended AND sendCount < :max',
      ExpressionAttributeValues: {
        ':one': 1,
        ':ended': windowEndedBy(limit, nowMs),
        ':max': limit.maxSends,
      },
    }));
  }

  async openSendWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean> {
    // Opening a window is activity too (at most once per window, so it costs nothing extra): it refreshes
    // lastSeen and the expiry, and rewrites the identity in case the item expired while the socket stayed open.
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.connections,
      Key: keyOf('connections', connection.connectionId),
      UpdateExpression:
        'SET sendWindowStart = :now, sendCount = :one, ' +
        'userId = :user, connectedAt = :connectedAt, lastSeen = :now, #ttl = :expiresAt',
      ConditionExpression: 'attribute_not_exists(sendWindowStart) OR sendWindowStart <= :ended',
      ExpressionAttributeNames: ttlName('connections'),
      ExpressionAttributeValues: {
        ':one': 1,
        ':now': nowMs,
        ':user': connection.userId,
        ':connectedAt': connection.connectedAt,
        ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
        ':ended': windowEndedBy(limit, nowMs),
      },
    }));
  }

  async readSendWindow(connectionId: string): Promise<SendWindow | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.connections,
        Key: keyOf('connections', connectionId),
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
    const counted = await this.writeIf(new UpdateCommand({
      TableName: this.tables.connections,
      Key: keyOf('connections', connection.connectionId),
      UpdateExpression: 'SET #arrival = #arrival + :interval',
      ConditionExpression: '#arrival >= :now AND #arrival <= :latest',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':interval': interval, ':now': nowMs, ':latest': latestAdmittedArrival(rate, nowMs) },
    }));
    if (counted) return true;
    // A bucket that is full (or new): this request is the first of a new burst. The identity is written only
    // where missing, so an item swept while the socket stayed open comes back as one that expires.
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.connections,
      Key: keyOf('connections', connection.connectionId),
      UpdateExpression:
        'SET #arrival = :next, userId = if_not_exists(userId, :user), ' +
        'connectedAt = if_not_exists(connectedAt, :connectedAt), #ttl = if_not_exists(#ttl, :expiresAt)',
      ConditionExpression: 'attribute_not_exists(#arrival) OR #arrival < :now',
      ExpressionAttributeNames: { ...names, ...ttlName('connections') },
      ExpressionAttributeValues: {
        ':next': nowMs + interval,
        ':now': nowMs,
        ':user': connection.userId,
        ':connectedAt': connection.connectedAt,
        ':expiresAt': connectionRecordExpiresAt(connection.connectedAt, nowMs),
      },
    }));
  }

  async readRouteArrival(connectionId: string, route: string): Promise<number | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.connections,
        Key: keyOf('connections', connectionId),
        ProjectionExpression: '#arrival',
        ExpressionAttributeNames: { '#arrival': routeBucketAttribute(route) },
        ConsistentRead: true,
      }),
    );
    return Item?.[routeBucketAttribute(route)] as number | undefined;
  }

  async putMembership(membership: Membership): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.memberships, Item: { ...(membership satisfies ItemOf<'memberships'>) } }));
  }

  async getMembership(room: string, connectionId: string, nowMs: number): Promise<Membership | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.memberships, Key: keyOf('memberships', room, connectionId), ConsistentRead: true }),
    );
    const membership = Item as Membership | undefined;
    return membership && !isExpired(membership.expiresAt, nowMs) ? membership : undefined;
  }

  async deleteMembership(room: string, connectionId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.memberships, Key: keyOf('memberships', room, connectionId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined && !isExpired(Attributes[TABLES.memberships.ttlAttribute] as number, Date.now());
  }

  async listMembers(room: string, nowMs: number): Promise<Membership[]> {
    const items = await this.queryAll({
      TableName: this.tables.memberships,
      KeyConditionExpression: '#room = :room',
      ExpressionAttributeNames: { '#room': hashKey('memberships') },
      ExpressionAttributeValues: { ':room': room },
      ConsistentRead: true,
    });
    return (items as unknown as Membership[]).filter((m) => !isExpired(m.expiresAt, nowMs));
  }

  async listRoomsOfConnection(connectionId: string): Promise<string[]> {
    // GSIs are eventually consistent: a room joined a moment ago may be missing; TTL and fan-out pruning catch it.
    const items = await this.queryAll({
      TableName: this.tables.memberships,
      IndexName: membershipIndex.name,
      KeyConditionExpression: '#connection = :c',
      ExpressionAttributeNames: { '#connection': membershipIndex.hashKey.name },
      ExpressionAttributeValues: { ':c': connectionId },
    });
    return items.map((item) => item[membershipIndex.rangeKey.name] as string);
  }

  async markTyping(room: string, connectionId: string, nowMs: number, intervalMs: number): Promise<boolean> {
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.memberships,
      Key: keyOf('memberships', room, connectionId),
      UpdateExpression: 'SET lastTypingAt = :now',
      // Never creates a membership: an absent or expired one fails the condition like a too-early event.
      ConditionExpression:
        'attribute_exists(#room) AND #ttl > :nowSeconds AND ' +
        '(attribute_not_exists(lastTypingAt) OR lastTypingAt <= :cutoff)',
      ExpressionAttributeNames: { '#room': hashKey('memberships'), ...ttlName('memberships') },
      ExpressionAttributeValues: { ':now': nowMs, ':nowSeconds': toSeconds(nowMs), ':cutoff': nowMs - intervalMs },
    }));
  }

  /** The item a counter is kept on, and its attribute there. */
  private counterAt(counter: Counter): { TableName: string; Key: Record<string, string | number>; attribute: string } {
    return counter.of === 'connection-rooms'
      ? { TableName: this.tables.connections, Key: keyOf('connections', counter.connectionId), attribute: CONNECTION_ROOMS }
      : { TableName: this.tables.presence, Key: keyOf('presence', counter.room, ROOM_MEMBERS_KEY), attribute: ROOM_MEMBERS };
  }

  async takeCount(counter: Counter, limit: number, nowMs: number): Promise<boolean> {
    const { attribute, ...item } = this.counterAt(counter);
    const onConnection = counter.of === 'connection-rooms';
    return this.writeIf(new UpdateCommand({
      ...item,
      // A connection item swept by TTL while its socket stayed open comes back with an expiry, never without:
      // the idle expiry from now, as the route buckets restore it (the next ping or send moves it on).
      UpdateExpression: onConnection ? 'ADD #count :one SET #ttl = if_not_exists(#ttl, :expiresAt)' : 'ADD #count :one',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeNames: { '#count': attribute, ...(onConnection ? ttlName('connections') : {}) },
      ExpressionAttributeValues: { ':one': 1, ':limit': limit, ...(onConnection ? { ':expiresAt': connectionRecordExpiresAt(nowMs, nowMs) } : {}) },
    }));
  }

  async releaseCount(counter: Counter): Promise<void> {
    const { attribute, ...item } = this.counterAt(counter);
    await this.writeIf(new UpdateCommand({
      ...item,
      UpdateExpression: 'ADD #count :minusOne',
      ConditionExpression: '#count > :zero',
      ExpressionAttributeNames: { '#count': attribute },
      ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
    }));
  }

  async readCount(counter: Counter): Promise<number> {
    const { attribute, ...item } = this.counterAt(counter);
    const { Item } = await this.db.send(
      new GetCommand({ ...item, ProjectionExpression: '#count', ExpressionAttributeNames: { '#count': attribute }, ConsistentRead: true }),
    );
    return (Item?.[attribute] as number | undefined) ?? 0;
  }

  async resetCount(counter: Counter, seen: number, exact: number): Promise<boolean> {
    const { attribute, ...item } = this.counterAt(counter);
    return this.writeIf(new UpdateCommand({
      ...item,
      UpdateExpression: 'SET #count = :exact',
      // Only an item that exists (a counter never written reads as 0, and there is nothing to correct).
      ConditionExpression: '#count = :seen',
      ExpressionAttributeNames: { '#count': attribute },
      ExpressionAttributeValues: { ':exact': exact, ':seen': seen },
    }));
  }

  async addPresence(membership: Membership, nowMs: number): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tables.presence,
        Key: keyOf('presence', membership.room, membership.userId),
        UpdateExpression: 'SET #connection = :connectionExpiresAt, #ttl = :expiresAt',
        ExpressionAttributeNames: { '#connection': `${PRESENCE_CONNECTION_PREFIX}${membership.connectionId}`, ...ttlName('presence') },
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
          Key: keyOf('presence', room, userId),
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

  async readRoomSettings(room: string): Promise<RoomSettings | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.rooms, Key: keyOf('rooms', room), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const owner = Item.owner as string | undefined;
    return { visibility: (Item.visibility as Visibility | undefined) ?? 'public', ...(owner ? { owner } : {}) };
  }

  async createRoom(room: string, settings: RoomSettings, nowMs: number): Promise<boolean> {
    // One conditional write on one item decides every race between creators: DynamoDB applies them in turn.
    // lastSeq too: a room with messages from before rooms had settings exists (and is public).
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.rooms,
      Key: keyOf('rooms', room),
      UpdateExpression: settings.owner
        ? 'SET visibility = :visibility, createdAt = :now, #owner = :owner'
        : 'SET visibility = :visibility, createdAt = :now',
      ConditionExpression: 'attribute_not_exists(visibility) AND attribute_not_exists(lastSeq)',
      ExpressionAttributeValues: {
        ':visibility': settings.visibility,
        ':now': nowMs,
        ...(settings.owner ? { ':owner': settings.owner } : {}),
      },
      ...(settings.owner ? { ExpressionAttributeNames: { '#owner': 'owner' } } : {}),
    }));
  }

  async readGrant(room: string, userId: string): Promise<GrantedRole | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.roles, Key: keyOf('roles', room, userId), ConsistentRead: true }),
    );
    return Item?.role as GrantedRole | undefined;
  }

  async putGrant(room: string, userId: string, role: GrantedRole, grantedBy: string, nowMs: number): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tables.roles, Item: { ...keyOf('roles', room, userId), role, grantedBy, grantedAt: nowMs } }),
    );
  }

  async deleteGrant(room: string, userId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.roles, Key: keyOf('roles', room, userId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async readSeqHint(room: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.rooms, Key: keyOf('rooms', room), ConsistentRead: true }),
    );
    return (Item?.lastSeq as number | undefined) ?? 0;
  }

  async advanceSeqHint(room: string, seq: number): Promise<void> {
    // Losing this race is fine: someone else already raised the counter at least as far.
    await this.writeIf(new UpdateCommand({
      TableName: this.tables.rooms,
      Key: keyOf('rooms', room),
      UpdateExpression: 'SET lastSeq = :seq',
      ConditionExpression: 'attribute_not_exists(lastSeq) OR lastSeq < :seq',
      ExpressionAttributeValues: { ':seq': seq },
    }));
  }

  async putMessageIfAbsent(message: StoredMessage): Promise<boolean> {
    return this.writeIf(new PutCommand({
      TableName: this.tables.messages,
      Item: { ...(message satisfies ItemOf<'messages'>) },
      ConditionExpression: 'attribute_not_exists(#seq)',
      ExpressionAttributeNames: { '#seq': messageSeq },
    }));
  }

  async getMessage(room: string, seq: number): Promise<StoredMessage | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.messages, Key: keyOf('messages', room, seq), ConsistentRead: true }),
    );
    return Item as StoredMessage | undefined;
  }

  async lastSeq(room: string): Promise<number> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.messages,
        KeyConditionExpression: '#room = :room',
        ExpressionAttributeNames: { '#room': hashKey('messages'), '#seq': messageSeq },
        ExpressionAttributeValues: { ':room': room },
        ProjectionExpression: '#seq',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (Items?.[0]?.[messageSeq] as number | undefined) ?? 0;
  }

  async queryMessages(room: string, range: MessageRange): Promise<StoredMessage[]> {
    const values: Record<string, unknown> = { ':room': room };
    let seqCondition = '';
    if (range.afterSeq !== undefined && range.beforeSeq !== undefined) {
      seqCondition = ' AND #seq BETWEEN :from AND :to';
      values[':from'] = range.afterSeq + 1;
      values[':to'] = range.beforeSeq - 1;
    } else if (range.afterSeq !== undefined) {
      seqCondition = ' AND #seq > :after';
      values[':after'] = range.afterSeq;
    } else if (range.beforeSeq !== undefined) {
      seqCondition = ' AND #seq < :before';
      values[':before'] = range.beforeSeq;
    }
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.messages,
        KeyConditionExpression: `#room = :room${seqCondition}`,
        ExpressionAttributeNames: { '#room': hashKey('messages'), ...(seqCondition ? { '#seq': messageSeq } : {}) },
        ExpressionAttributeValues: values,
        ScanIndexForward: range.direction === 'asc',
        Limit: range.limit,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []) as StoredMessage[];
  }

  async claimSend(claim: SendClaim, nowMs: number): Promise<SendClaim | undefined> {
    const created = await this.writeIf(new PutCommand({
      TableName: this.tables.idempotency,
      Item: { ...(claim satisfies ItemOf<'idempotency'>) },
      // An expired record may linger until TTL deletes it; it no longer counts.
      ConditionExpression: 'attribute_not_exists(#key) OR #ttl <= :now',
      ExpressionAttributeNames: { '#key': hashKey('idempotency'), ...ttlName('idempotency') },
      ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
    }));
    if (created) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.idempotency, Key: keyOf('idempotency', claim.key), ConsistentRead: true }),
    );
    return Item as SendClaim;
  }

  async moveClaim(key: string, owner: string, seq: number): Promise<boolean> {
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.idempotency,
      Key: keyOf('idempotency', key),
      UpdateExpression: 'SET seq = :seq',
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':seq': seq, ':owner': owner },
    }));
  }

  async markFannedOut(key: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.idempotency,
        Key: keyOf('idempotency', key),
        UpdateExpression: 'SET fannedOut = :done',
        ConditionExpression: 'attribute_exists(#key)',
        ExpressionAttributeNames: { '#key': hashKey('idempotency') },
        ExpressionAttributeValues: { ':done': true },
      }),
    );
  }

  async takeOverClaim(previous: SendClaim, owner: string, leaseUntil: number): Promise<boolean> {
    return this.writeIf(new UpdateCommand({
      TableName: this.tables.idempotency,
      Key: keyOf('idempotency', previous.key),
      UpdateExpression: 'SET #owner = :owner, leaseUntil = :lease',
      ConditionExpression: '#owner = :previousOwner AND leaseUntil = :previousLease',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':owner': owner,
        ':lease': leaseUntil,
        ':previousOwner': previous.owner,
        ':previousLease': previous.leaseUntil,
      },
    }));
  }

  async releaseClaim(key: string, owner: string): Promise<void> {
    // Losing the condition means another request took the claim over: it is theirs to finish.
    await this.writeIf(new DeleteCommand({
      TableName: this.tables.idempotency,
      Key: keyOf('idempotency', key),
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    }));
  }
  async claimAttachment(record: AttachmentRecord): Promise<boolean> {
    const put = this.writeIf(new PutCommand({
      TableName: this.tables.attachments,
      Item: { ...(record satisfies ItemOf<'attachments'>) },
      ConditionExpression: 'attribute_not_exists(#id)',
      ExpressionAttributeNames: { '#id': hashKey('attachments') },
    }));
    if (await put) return true;
    // Another item holds it: the same send's earlier try (a retry) or another message.
    return (await this.getAttachment(record.attachmentId))?.attachedBy === record.attachedBy;
  }

  async releaseAttachment(attachmentId: string, attachedBy: string): Promise<void> {
    await this.writeIf(new DeleteCommand({
      TableName: this.tables.attachments,
      Key: keyOf('attachments', attachmentId),
      ConditionExpression: 'attachedBy = :by',
      ExpressionAttributeValues: { ':by': attachedBy },
    }));
  }

  async getAttachment(attachmentId: string): Promise<AttachmentRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.attachments, Key: keyOf('attachments', attachmentId), ConsistentRead: true }),
    );
    return Item as AttachmentRecord | undefined;
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
