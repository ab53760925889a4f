/**
 * The one route table and function catalog. Infra generates routes, integrations, functions and their IAM
 * policies from it; handlers read the action list from it; the local runtime sees it through the plan.
 */
import type { TableKey } from './tables.ts';

export const DYNAMO_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'] as const;
export type DynamoAction = (typeof DYNAMO_ACTIONS)[number];

/** What a function may do to the attachment bucket's objects (under its key prefix only). */
export type AttachmentObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:PutObjectTagging';

export interface TableGrant {
  readonly table: TableKey;
  readonly actions: readonly DynamoAction[];
  /** Query on these secondary indexes (their ARNs are granted separately from the table's). */
  readonly indexes?: readonly string[];
}

export interface FunctionSpec {
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly tables: readonly TableGrant[];
  /** Needs `execute-api:ManageConnections` on this stage (replies and fan-out go through `@connections`). */
  readonly manageConnections: boolean;
  /**
   * Asks `@connections` whether a connection is open (GET): it gets the endpoint and `execute-api:ManageConnections`
   * on GET only. `$connect` asks about the holders of a user's slots before refusing a handshake.
   */
  readonly looksUpConnections?: true;
  /**
   * Broadcasts to rooms, so hands rooms above the stage's threshold to the `fanout` function (asynchronous
   * invoke): it gets `lambda:InvokeFunction` on it and the FANOUT_FUNCTION/_ASYNC_THRESHOLD/_SHARD_SIZE variables.
   */
  readonly broadcasts: boolean;
  /**
   * Its route has a token bucket per connection (the stage's `limits.routeRates`, env ROUTE_RATE_*), kept on the
   * connection item: the function gets the grants for it.
   */
  readonly routeRateLimited?: true;
  /**
   * Granted these actions on the attachment bucket's objects (its key prefix only), with the ATTACHMENTS_BUCKET and
   * ATTACHMENT_* variables. A presigned URL acts with its signer's permissions, so the presigners need what the
   * upload or download itself does.
   */
  readonly attachments?: readonly AttachmentObjectAction[];
  /** Invoked by an EventBridge rule on this schedule expression instead of by a route (the canary). */
  readonly schedule?: string;
}

/** Unites grant lists into one grant per table (the infra renders one policy statement per table). */
function grants(...lists: readonly (readonly TableGrant[])[]): readonly TableGrant[] {
  const byTable = new Map<TableKey, { actions: Set<DynamoAction>; indexes: Set<string> }>();
  for (const grant of lists.flat()) {
    const merged = byTable.get(grant.table) ?? { actions: new Set<DynamoAction>(), indexes: new Set<string>() };
    for (const action of grant.actions) merged.actions.add(action);
    for (const index of grant.indexes ?? []) merged.indexes.add(index);
    byTable.set(grant.table, merged);
  }
  return [...byTable].map(([table, { actions, indexes }]) => ({
    table,
    actions: [...actions],
    ...(indexes.size ? { indexes: [...indexes] } : {}),
  }));
}

/**
 * Broadcasting to a room lists its members and removes connections found gone — their item, memberships and
 * presence, so the user's departure is announced — hence every route that broadcasts needs these grants.
 */
const broadcastGrants: readonly TableGrant[] = [
  { table: 'connections', actions: ['DeleteItem'] },
  { table: 'memberships', actions: ['DeleteItem', 'Query'], indexes: ['byConnection'] },
  // A departure also takes one off the room's count of users present, kept on the presence table.
  { table: 'presence', actions: ['UpdateItem'] },
];

/** A route's token bucket lives on the connection item: one conditional update per request, a read on refusal. */
const routeRateGrants: readonly TableGrant[] = [{ table: 'connections', actions: ['UpdateItem', 'GetItem'] }];

/**
 * A change to a user's role in a private room (invite grants one, remove withdraws it): the room's settings and the
 * caller's own role are read first, then the role item is written or deleted.
 */
function roleChange<const Broadcasts extends boolean>(description: string, roleWrite: 'PutItem' | 'DeleteItem', broadcasts: Broadcasts) {
  return {
    description,
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(broadcasts ? broadcastGrants : [], routeRateGrants, [
      { table: 'rooms', actions: ['GetItem'] },
      { table: 'roles', actions: ['GetItem', roleWrite] },
    ]),
    manageConnections: true,
    broadcasts,
    routeRateLimited: true,
  } as const satisfies FunctionSpec;
}

export const FUNCTIONS = {
  authorizer: {
    description: 'Verifies the JWT in the token query parameter on $connect',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [],
    manageConnections: false,
    broadcasts: false,
  },
  connect: {
    description: "Records a new connection in one of its user's connection slots, or refuses it",
    timeoutSeconds: 10,
    memoryMb: 256,
    // A refused connection's item is deleted again; a slot whose holder's item is gone is taken over.
    tables: [
      { table: 'connections', actions: ['PutItem', 'GetItem', 'DeleteItem'] },
      { table: 'slots', actions: ['PutItem', 'Query'] },
    ],
    manageConnections: false,
    // A slot whose holder API Gateway reports gone (its $disconnect late or lost) is taken over.
    looksUpConnections: true,
    broadcasts: false,
  },
  disconnect: {
    description: 'Removes a connection, its connection slot and its room memberships, announcing departures',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(broadcastGrants, [{ table: 'slots', actions: ['Query', 'DeleteItem'] }]),
    manageConnections: true,
    broadcasts: true,
  },
  default: {
    description: 'Answers frames that match no route',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [],
    manageConnections: true,
    broadcasts: false,
  },
  join: {
    description: 'Joins a room (creating it, public or private, when new), optionally resuming after a seq, and announces a newly present user',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(broadcastGrants, routeRateGrants, [
      // GetItem: whether the connection is in the room already (a rejoin takes no second place among its rooms).
      { table: 'memberships', actions: ['GetItem', 'PutItem', 'Query'] },
      { table: 'messages', actions: ['Query'] },
      // GetItem reads the room's settings, UpdateItem creates them (conditionally); roles: the caller's grant.
      { table: 'rooms', actions: ['GetItem', 'UpdateItem'] },
      { table: 'roles', actions: ['GetItem'] },
      // The room's count of users present (a full room is recounted before it refuses).
      { table: 'presence', actions: ['GetItem'] },
    ]),
    manageConnections: true,
    broadcasts: true,
    routeRateLimited: true,
  },
  leave: {
    description: 'Leaves a room and announces a user who is no longer present',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(broadcastGrants, routeRateGrants),
    manageConnections: true,
    broadcasts: true,
    routeRateLimited: true,
  },
  invite: roleChange("Grants a user a role (member or admin) in a private room, by the room's owner or an admin", 'PutItem', false),
  // Ending the user's memberships there announces their departure to the room.
  remove: roleChange("Withdraws a user's role in a private room, ends their memberships there and tells their connections", 'DeleteItem', true),
  send: {
    description: 'Stores a message once and fans it out to the room',
    timeoutSeconds: 29,
    memoryMb: 512,
    tables: grants(broadcastGrants, [
      { table: 'memberships', actions: ['GetItem'] },
      // The rate limit window lives on the connection item; GetItem reads it only when a send is refused.
      { table: 'connections', actions: ['UpdateItem', 'GetItem'] },
      { table: 'rooms', actions: ['GetItem', 'UpdateItem'] },
      { table: 'messages', actions: ['GetItem', 'PutItem'] },
      // DeleteItem releases the claim of a send refused by the rate limit, so its retry is not IN_PROGRESS.
      { table: 'idempotency', actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] },
      // PutItem attaches an upload once; DeleteItem gives it back when the send is refused after all.
      { table: 'attachments', actions: ['GetItem', 'PutItem', 'DeleteItem'] },
    ]),
    manageConnections: true,
    broadcasts: true,
    // HEAD (s3:GetObject) checks what was uploaded; the tag marks it attached for the lifecycle rules.
    attachments: ['s3:GetObject', 's3:PutObjectTagging'],
  },
  upload: {
    description: "Presigns a POST of one file to the attachment bucket, for a member of the room, under the service's key",
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(routeRateGrants, [{ table: 'memberships', actions: ['GetItem'] }]),
    manageConnections: true,
    broadcasts: false,
    routeRateLimited: true,
    // The POST carries the `pending` tag, which S3 authorizes as s3:PutObjectTagging.
    attachments: ['s3:PutObject', 's3:PutObjectTagging'],
  },
  download: {
    description: 'Presigns a GET of an attachment of a message in the room, for a member of it',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(routeRateGrants, [
      { table: 'memberships', actions: ['GetItem'] },
      { table: 'attachments', actions: ['GetItem'] },
    ]),
    manageConnections: true,
    broadcasts: false,
    routeRateLimited: true,
    attachments: ['s3:GetObject'],
  },
  history: {
    description: 'Pages through a room history',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(routeRateGrants, [
      { table: 'memberships', actions: ['GetItem'] },
      { table: 'messages', actions: ['Query'] },
      // The room's seq counter: an ascending page says through which seq it is complete (expired or erased seqs).
      { table: 'rooms', actions: ['GetItem'] },
    ]),
    manageConnections: true,
    broadcasts: false,
    routeRateLimited: true,
  },
  who: {
    description: 'Lists the users present in a room',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: grants(routeRateGrants, [{ table: 'memberships', actions: ['GetItem', 'Query'] }]),
    manageConnections: true,
    broadcasts: false,
    routeRateLimited: true,
  },
  typing: {
    description: 'Relays a typing indicator to the other users of a room, at most one per connection every 2 s',
    timeoutSeconds: 10,
    memoryMb: 256,
    // UpdateItem stamps lastTypingAt on the membership; GetItem tells a non-member from a dropped event. The
    // room's count of users (no relay above the stage's typingMaxMembers) is one read on the presence table.
    tables: grants(broadcastGrants, routeRateGrants, [
      { table: 'memberships', actions: ['UpdateItem', 'GetItem'] },
      { table: 'presence', actions: ['GetItem'] },
    ]),
    manageConnections: true,
    broadcasts: true,
    routeRateLimited: true,
  },
  fanout: {
    description: 'Delivers one shard of a large room fan-out (asynchronous invocations from the functions that broadcast)',
    // Posts stop 5 s before the end and the rest go to a continuation; a minute holds shards of any allowed size.
    timeoutSeconds: 60,
    memoryMb: 512,
    tables: broadcastGrants,
    manageConnections: true,
    // Its continuations, and the departures of connections it finds gone, may need another fan-out.
    broadcasts: true,
  },
  ping: {
    description: 'Answers a heartbeat and refreshes the connection item',
    timeoutSeconds: 5,
    memoryMb: 128,
    tables: grants(routeRateGrants, [{ table: 'connections', actions: ['UpdateItem'] }]),
    manageConnections: true,
    broadcasts: false,
    routeRateLimited: true,
  },
  canary: {
    description: 'The synthetic chat user: every minute it gets a token, connects, joins its room, sends, receives, reads history and disconnects',
    // Seven steps of at most CANARY_STEP_TIMEOUT_MS each, and the rest of the minute to spare.
    timeoutSeconds: 45,
    memoryMb: 256,
    tables: [],
    manageConnections: false,
    broadcasts: false,
    schedule: 'rate(1 minute)',
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

export interface Route {
  readonly routeKey: string;
  readonly function: Exclude<FunctionName, 'authorizer' | 'fanout' | 'canary'>;
}

/** Receives the shards of large rooms; every function that broadcasts may invoke it. */
export const FANOUT_FUNCTION: FunctionName = 'fanout';

/** The synthetic chat user: a client of the stage's own API, with the machine identity the authorizer confines to its room. */
export const CANARY_FUNCTION: FunctionName = 'canary';

/** The canary's own room: its identity may enter no other (the authorizer confines its tokens to it). */
export const CANARY_ROOM = 'wschat-canary';

/** How long each canary step may take: a step slower than this is an outage to the user who waits for it. */
export const CANARY_STEP_TIMEOUT_MS = 5000;

/** `$request.body.action` selects a route; anything else (or no JSON) lands on `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

export const ROUTES: readonly Route[] = [
  { routeKey: '$connect', function: 'connect' },
  { routeKey: '$disconnect', function: 'disconnect' },
  { routeKey: '$default', function: 'default' },
  { routeKey: 'join', function: 'join' },
  { routeKey: 'leave', function: 'leave' },
  { routeKey: 'send', function: 'send' },
  { routeKey: 'history', function: 'history' },
  { routeKey: 'who', function: 'who' },
  { routeKey: 'typing', function: 'typing' },
  { routeKey: 'ping', function: 'ping' },
  { routeKey: 'invite', function: 'invite' },
  { routeKey: 'remove', function: 'remove' },
  { routeKey: 'upload', function: 'upload' },
  { routeKey: 'download', function: 'download' },
];

/**
 * Functions behind routes that carry frames: they close connections whose session ended (domain/session.ts),
 * so they, and only they, may DELETE @connections.
 */
export const FRAME_FUNCTIONS: ReadonlySet<FunctionName> = new Set(
  ROUTES.filter((r) => r.routeKey !== '$connect' && r.routeKey !== '$disconnect').map((r) => r.function),
);

/** The DynamoDB operations some function performs on a table, in a stable order (its per-operation metrics). */
export function tableOperations(table: TableKey): DynamoAction[] {
  const used = new Set((Object.values(FUNCTIONS) as FunctionSpec[]).flatMap((f) => f.tables.filter((g) => g.table === table).flatMap((g) => g.actions)));
  return DYNAMO_ACTIONS.filter((action) => used.has(action));
}

/** Client-facing actions: every route that is not one of API Gateway's `$` routes. */
export const ACTIONS: readonly string[] = ROUTES.filter((r) => !r.routeKey.startsWith('$')).map((r) => r.routeKey);

/** The authorizer reads the JWT from this query parameter; API Gateway answers 401 when it is missing. */
export const TOKEN_QUERY_PARAMETER = 'token';
