/**
 * The one definition of every DynamoDB table: infra renders `aws_dynamodb_table` from it, the store adapter
 * reads key names from it, and the local runtime sees it only through the synthesized plan.
 */
export type KeyType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export interface SecondaryIndex {
  readonly name: string;
  readonly hashKey: KeyAttribute;
  readonly rangeKey?: KeyAttribute;
}

export interface TableSchema {
  readonly hashKey: KeyAttribute;
  readonly rangeKey?: KeyAttribute;
  readonly indexes?: readonly SecondaryIndex[];
  /** Epoch-seconds attribute DynamoDB TTL deletes by (lazily; readers must filter expired items). */
  readonly ttlAttribute?: string;
  /** Point-in-time recovery: on for data that cannot be rebuilt. */
  readonly pointInTimeRecovery: boolean;
  readonly purpose: string;
}

export const TABLES = {
  connections: {
    hashKey: { name: 'connectionId', type: 'S' },
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: false,
    purpose: 'One item per open WebSocket connection: who it is and when it expires.',
  },
  memberships: {
    hashKey: { name: 'room', type: 'S' },
    rangeKey: { name: 'connectionId', type: 'S' },
    indexes: [
      { name: 'byConnection', hashKey: { name: 'connectionId', type: 'S' }, rangeKey: { name: 'room', type: 'S' } },
    ],
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: false,
    purpose: 'Room membership per connection; queried by room for fan-out and by connection for cleanup.',
  },
  presence: {
    hashKey: { name: 'room', type: 'S' },
    rangeKey: { name: 'userId', type: 'S' },
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: false,
    purpose:
      "One item per (room, user) listing the user's live connections there, so presence changes are decided once; " +
      "and per room one item (userId '#members', which no user id can be) counting its users present.",
  },
  slots: {
    hashKey: { name: 'userId', type: 'S' },
    rangeKey: { name: 'slot', type: 'N' },
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: false,
    purpose:
      "A user's open connections, one item per numbered slot up to the stage's connections per user; a conditional write claims a free slot.",
  },
  rooms: {
    hashKey: { name: 'room', type: 'S' },
    // A private room's owner and visibility exist nowhere else, and a restore must bring back rooms, roles and
    // messages to one point in time (docs/operations.md#restoring-a-table).
    pointInTimeRecovery: true,
    purpose:
      'Per-room sequence counter (a hint: the messages table is the authority on which seqs exist), and the ' +
      "room's visibility and owner, written once by the join that creates it.",
  },
  roles: {
    hashKey: { name: 'room', type: 'S' },
    rangeKey: { name: 'userId', type: 'S' },
    // Who may enter a private room cannot be rebuilt from anything else.
    pointInTimeRecovery: true,
    purpose: 'One item per user invited to a private room: their role there (admin or member; the owner is on the room).',
  },
  messages: {
    hashKey: { name: 'room', type: 'S' },
    rangeKey: { name: 'seq', type: 'N' },
    // The stage's message retention (infra/config/stages.ts): a message is gone once it passes.
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: true,
    purpose: 'Message history, keyed by room and a per-room sequence number allocated contiguously; kept for the stage\'s retention.',
  },
  attachments: {
    hashKey: { name: 'attachmentId', type: 'S' },
    // Which message a file belongs to, and so who may download it, cannot be rebuilt from the bucket.
    pointInTimeRecovery: true,
    purpose:
      'One item per upload a message carries: its room, uploader, name, type and size, written once by the send ' +
      'that attaches it (so an upload is attached to one message only) and read by downloads.',
  },
  idempotency: {
    hashKey: { name: 'key', type: 'S' },
    ttlAttribute: 'expiresAt',
    pointInTimeRecovery: false,
    purpose: 'One record per (room, user, clientMsgId) so a retried send is stored and broadcast once.',
  },
} as const satisfies Record<string, TableSchema>;

export type TableKey = keyof typeof TABLES;

export const TABLE_KEYS = Object.keys(TABLES) as TableKey[];

/** Name of the Lambda environment variable that carries a table's physical name. */
export function tableEnvVar(table: TableKey): string {
  return `${table.toUpperCase()}_TABLE`;
}
