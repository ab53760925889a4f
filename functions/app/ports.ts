/** Ports: one interface per external system. DynamoDB and `@connections` adapters implement them. */
import type { CustomMetricName } from '../../dashboards/metrics.ts';
import type { SlotHolder } from '../domain/connection-quota.ts';
import type { Counter } from '../domain/room-limits.ts';
import type { GrantedRole, RoomSettings } from '../domain/access.ts';
import type { AttachmentView, StoredUpload } from '../domain/attachments.ts';
import type { FanoutShard } from '../domain/fanout.ts';
import type { ServerFrame } from '../domain/protocol.ts';
import type { SendRateLimit } from '../domain/rate-limit.ts';
import type { RouteRate } from '../domain/token-bucket.ts';

/** What every request knows about its connection (from the request context): enough to rewrite its item. */
export interface ConnectionIdentity {
  readonly connectionId: string;
  readonly userId: string;
  readonly connectedAt: number;
}

export interface ConnectionRecord {
  readonly connectionId: string;
  readonly userId: string;
  readonly connectedAt: number;
  /** Epoch seconds; past it the item is dead even if DynamoDB TTL has not deleted it yet. */
  readonly expiresAt: number;
}

export interface Membership {
  readonly room: string;
  readonly connectionId: string;
  readonly userId: string;
  readonly joinedAt: number;
  readonly expiresAt: number;
  /** When the joining connection's session ends (its token's expiry plus grace, epoch seconds), if it has one. */
  readonly sessionEndsAt?: number;
}

export interface StoredMessage {
  readonly room: string;
  readonly seq: number;
  readonly id: string;
  readonly user: string;
  readonly text: string;
  readonly ts: number;
  readonly clientMsgId: string;
  readonly attachments?: readonly AttachmentView[];
  /** Epoch seconds: the stage's retention after `ts` (the table's TTL). Messages stored before retention have none. */
  readonly expiresAt: number;
}

/** An upload a message carries: the attachments table's item. */
export interface AttachmentRecord extends AttachmentView {
  readonly attachmentId: string;
  readonly room: string;
  /** The uploader: the object's key is rooms/<room>/<uploader>/<id>. */
  readonly uploader: string;
  /** The idempotency key of the send that attached it: the same send may claim it again, no other. */
  readonly attachedBy: string;
  readonly attachedAt: number;
}

/** Claim on a (room, user, clientMsgId): which seq its message is (being) written at, and by whom. */
export interface SendClaim {
  readonly key: string;
  readonly seq: number;
  readonly owner: string;
  /** Epoch ms until which the owner may still be writing; after it another request may take over. */
  readonly leaseUntil: number;
  readonly expiresAt: number;
  /** Set once the message reached its room; until then a retry fans it out again. */
  readonly fannedOut?: boolean;
}

/** The connection's current send rate window. */
export interface SendWindow {
  /** Epoch ms of the window's first send. */
  readonly start: number;
  /** Sends admitted in the window. */
  readonly count: number;
}

export interface MessageRange {
  readonly direction: 'asc' | 'desc';
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly limit: number;
}

export interface ChatStore {
  putConnection(connection: ConnectionRecord): Promise<void>;
  /** Removes the connection item; false when there was none (already removed, or swept by TTL). */
  deleteConnection(connectionId: string): Promise<boolean>;
  /**
   * Claims a free one of the user's `limit` connection slots for this connection, recording `nowMs` as its claim
   * (a slot is free when empty or past its expiry): true, or when every slot is held, their holders.
   */
  claimConnectionSlot(connection: ConnectionIdentity, limit: number, nowMs: number): Promise<true | readonly SlotHolder[]>;
  /**
   * Takes the holder's slot for this connection, on the condition that `holder` still holds it; false when it
   * does not (it left, or a racing handshake took the slot first).
   */
  takeOverConnectionSlot(connection: ConnectionIdentity, holder: Pick<SlotHolder, 'slot' | 'connectionId'>, nowMs: number): Promise<boolean>;
  /** Frees the slot this connection holds, if it holds one. */
  releaseConnectionSlot(connection: Pick<ConnectionIdentity, 'connectionId' | 'userId'>): Promise<void>;
  /**
   * Records that the client was heard from at `nowMs`: lastSeen and the expiry that follows from it, never
   * moving either back. Rewrites the identity too, so an item already expired and swept comes back whole.
   */
  touchConnection(connection: ConnectionIdentity, nowMs: number): Promise<void>;

  /** Counts a send in the connection's open window; false when there is none, it has ended, or it is full. */
  countSendInWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean>;
  /** Opens a new window holding this send (and touches the connection); false when the current one is open. */
  openSendWindow(connection: ConnectionIdentity, limit: SendRateLimit, nowMs: number): Promise<boolean>;
  readSendWindow(connectionId: string): Promise<SendWindow | undefined>;

  /** Takes a token from the connection's bucket for `route`; false when none is left (or a concurrent take won). */
  takeRouteToken(connection: ConnectionIdentity, route: string, rate: RouteRate, nowMs: number): Promise<boolean>;
  /** The bucket's arrival time (epoch ms), undefined when the route was never used on the connection. */
  readRouteArrival(connectionId: string, route: string): Promise<number | undefined>;

  putMembership(membership: Membership): Promise<void>;
  /** The live membership, or undefined when absent or expired at `nowMs`. */
  getMembership(room: string, connectionId: string, nowMs: number): Promise<Membership | undefined>;
  /** Removes a membership; false when there was none. */
  deleteMembership(room: string, connectionId: string): Promise<boolean>;
  /** Every live membership of a room (all pages). */
  listMembers(room: string, nowMs: number): Promise<Membership[]>;
  listRoomsOfConnection(connectionId: string): Promise<string[]>;
  /**
   * Stamps lastTypingAt on a live membership unless it was stamped less than `intervalMs` ago; false when it
   * was, or when there is no live membership.
   */
  markTyping(room: string, connectionId: string, nowMs: number, intervalMs: number): Promise<boolean>;

  /**
   * Counters (domain/room-limits.ts), each on one item, changed by single-item conditional writes. `takeCount`
   * adds one unless the counter is at `limit` (false then).
   */
  takeCount(counter: Counter, limit: number, nowMs: number): Promise<boolean>;
  /** Takes one off, never below 0. */
  releaseCount(counter: Counter): Promise<void>;
  readCount(counter: Counter): Promise<number>;
  /** Sets the counter to `exact` unless it changed since it read `seen`; false when it did. */
  resetCount(counter: Counter, seen: number, exact: number): Promise<boolean>;

  /** Adds the connection to the user's presence in the room; true when the user was not present before. */
  addPresence(membership: Membership, nowMs: number): Promise<boolean>;
  /** Removes the connection from the user's presence; true when it was there and the user is present no more. */
  removePresence(room: string, userId: string, connectionId: string, nowMs: number): Promise<boolean>;

  /**
   * The room's visibility and owner; undefined when no join created it. A room that has messages but no record
   * (written before rooms had one) reads as public.
   */
  readRoomSettings(room: string): Promise<RoomSettings | undefined>;
  /** Records a new room's settings unless the room exists; false when another request created it first. */
  createRoom(room: string, settings: RoomSettings, nowMs: number): Promise<boolean>;
  /** The user's granted role in a private room; undefined when not invited (or removed). */
  readGrant(room: string, userId: string): Promise<GrantedRole | undefined>;
  putGrant(room: string, userId: string, role: GrantedRole, grantedBy: string, nowMs: number): Promise<void>;
  /** Withdraws the user's role; false when there was none. */
  deleteGrant(room: string, userId: string): Promise<boolean>;

  /** The per-room counter: a lower bound of the highest seq stored (0 for a new room). */
  readSeqHint(room: string): Promise<number>;
  /** Raises the counter to `seq` unless it is already there or beyond. */
  advanceSeqHint(room: string, seq: number): Promise<void>;
  /** Writes the message at its seq; false when that seq is already taken. */
  putMessageIfAbsent(message: StoredMessage): Promise<boolean>;
  /** The stored message, expired or not (a retried send replays its own message whatever its age). */
  getMessage(room: string, seq: number): Promise<StoredMessage | undefined>;
  /** The highest seq stored in the room (expired or not), 0 when it is empty. */
  lastSeq(room: string): Promise<number>;
  /** The stored messages in the range, expired ones included: the history page leaves them out (domain/history.ts). */
  queryMessages(room: string, range: MessageRange): Promise<StoredMessage[]>;

  /** Creates the claim unless a live one exists; returns the existing claim in that case. */
  claimSend(claim: SendClaim, nowMs: number): Promise<SendClaim | undefined>;
  /** Points the caller's claim at another seq; false when the caller no longer owns it. */
  moveClaim(key: string, owner: string, seq: number): Promise<boolean>;
  /** Takes over a claim whose lease ran out; false when someone else changed it first. */
  takeOverClaim(previous: SendClaim, owner: string, leaseUntil: number): Promise<boolean>;
  /** Records that the claimed message was fanned out to its room. */
  markFannedOut(key: string): Promise<void>;
  /** Deletes the claim if `owner` still holds it. */
  releaseClaim(key: string, owner: string): Promise<void>;

  /** Records the attachment unless another send attached it; true when it is (now or already) this send's. */
  claimAttachment(record: AttachmentRecord): Promise<boolean>;
  /** Deletes the attachment's record if the send `attachedBy` holds it (a refused send gives its claims back). */
  releaseAttachment(attachmentId: string, attachedBy: string): Promise<void>;
  getAttachment(attachmentId: string): Promise<AttachmentRecord | undefined>;
}

/** What the presigned POST carries: where to post and the form fields that go before the file. */
export interface PresignedUpload {
  readonly url: string;
  readonly fields: Record<string, string>;
}

/** The attachment bucket (S3): presigned uploads and downloads, and what an uploaded object turned out to be. */
export interface AttachmentStorage {
  /**
   * A POST whose policy pins the key, the content type, the exact size, the metadata and the `pending` tag, and
   * expires after `expiresSeconds`.
   */
  presignUpload(key: string, upload: StoredUpload, expiresSeconds: number): Promise<PresignedUpload>;
  /** The object's size, type and declared file name; undefined when there is none (never uploaded, or expired). */
  describe(key: string): Promise<StoredUpload | undefined>;
  /** Tags the object as attached, so the lifecycle rule for unattached uploads leaves it alone. */
  markAttached(key: string): Promise<void>;
  presignDownload(key: string, contentDisposition: string, expiresSeconds: number): Promise<string>;
}


/** 'throttled': the account's `@connections` callback limit answered LimitExceeded; the post may be retried. */
export type PostOutcome = 'delivered' | 'gone' | 'throttled';

export interface ConnectionNotifier {
  /** Posts one frame; 'gone' when the connection no longer exists. Other failures throw. */
  post(connectionId: string, frame: ServerFrame | FanoutShard['frame']): Promise<PostOutcome>;
  /** Closes a connection (`DELETE @connections`); false when it was already gone. Other failures throw. */
  disconnect(connectionId: string): Promise<boolean>;
  /** Whether API Gateway has the connection open (`GET @connections`); false when it is gone. Other failures throw. */
  isOpen(connectionId: string): Promise<boolean>;
}

/** Hands shards of a large room's fan-out to the fan-out function (Lambda asynchronous invocation). */
export interface FanoutDispatcher {
  /** Resolves once the shard is queued for delivery; throws when it could not be handed over. */
  dispatch(shard: FanoutShard): Promise<void>;
}

/** Counts what happened, in the custom metrics catalog's names. */
export interface Telemetry {
  count(metric: CustomMetricName, value?: number): void;
  /** `about` (e.g. the room) rides along with the datapoint as searchable log fields, never as dimensions. */
  durationMs(metric: CustomMetricName, ms: number, about?: Readonly<Record<string, string>>): void;
  warn(message: string, details: Record<string, unknown>): void;
}

/** A bearer token from an identity provider: the canary's, by the client-credentials grant. */
export interface TokenSource {
  token(): Promise<string>;
}

/** What arrives on a client's WebSocket connection. */
export interface ClientSocketEvents {
  /** A text frame as received. */
  frame(text: string): void;
  closed(code: number): void;
}

/** A WebSocket connection opened as a chat client opens one (the canary's). */
export interface ClientSocket {
  send(frame: Readonly<Record<string, unknown>>): void;
  /** Resolves once the connection is closed. */
  close(): Promise<void>;
}

export interface ClientSocketOpener {
  /** Rejects when the handshake is refused (e.g. 401, 500) or takes longer than `timeoutMs`. */
  open(url: string, events: ClientSocketEvents, timeoutMs: number): Promise<ClientSocket>;
}
