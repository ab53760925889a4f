/**
 * A typed client for the chat protocol (docs/protocol.md) that survives dropped connections: it reconnects
 * with jittered exponential backoff (asking for a fresh token each time), re-joins every room from the last
 * seq it delivered, hands messages to the app once each and in seq order (filling gaps from history), and
 * retries sends under the same clientMsgId until they are acknowledged. Runs in browsers and Node.
 */
import type { GrantedRole, Visibility } from '../functions/domain/access.ts';
import type { ErrorCode } from '../functions/domain/errors.ts';
import type { MessageView, PresenceEvent, ServerFrame } from '../functions/domain/protocol.ts';
import { MAX_ATTACHMENTS } from '../functions/domain/protocol-rules.ts';
import {
  codePointLength,
  HISTORY_MAX_LIMIT,
  MAX_CLIENT_MSG_ID_LENGTH,
  MAX_TEXT_CODE_POINTS,
  ROOM_PATTERN,
  TYPING_INTERVAL_MS,
  USER_ID_PATTERN,
} from '../functions/domain/protocol-rules.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { TypedEmitter } from './emitter.ts';
import { RoomSequencer } from './sequencer.ts';
import { globalWebSocketFactory, SOCKET_OPEN, type WebSocketFactory, type WebSocketLike } from './socket.ts';

/** A token, or a function asked for one before every connection attempt (so expired tokens are replaced). */
export type TokenSource = string | (() => string | Promise<string>);

export interface ChatClientOptions {
  /** The stage URL without a token, e.g. ws://127.0.0.1:8080/dev or wss://…/prod. */
  readonly url: string;
  readonly token: TokenSource;
  /** Creates sockets; defaults to the platform's WebSocket (in Node 20 pass nodeWebSocket from ./node.ts). */
  readonly webSocket?: WebSocketFactory;
  readonly backoff?: BackoffOptions;
  /** A send without an ack for this long is sent again (same clientMsgId). */
  readonly ackTimeoutMs?: number;
  /**
   * How long a send keeps being retried (across timeouts, retryable errors and reconnects) before send() rejects
   * with TIMEOUT. Retrying later with the same clientMsgId is still safe: it is stored once.
   */
  readonly sendTimeoutMs?: number;
  /** How long join, leave, who and history requests wait for their reply before being retried or failed. */
  readonly requestTimeoutMs?: number;
  /** How long a gap in seqs may stay open before history is asked for it (frames of concurrent sends reorder). */
  readonly gapFillDelayMs?: number;
  /** How often to ping; the server keeps the connection's record alive and a silent socket is detected. */
  readonly heartbeatIntervalMs?: number;
  /** A socket that delivers no frame this long after a ping is considered dead and replaced. */
  readonly heartbeatTimeoutMs?: number;
  readonly random?: () => number;
  readonly newClientMsgId?: () => string;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** With 'connecting': which attempt this is (1-based). */
  readonly attempt?: number;
  /** With 'reconnecting': the wait before the next attempt, and why the last connection ended. */
  readonly delayMs?: number;
  readonly reason?: string;
}

export interface Ack {
  readonly room: string;
  readonly clientMsgId: string;
  readonly seq: number;
  readonly id: string;
  readonly ts: number;
}

export interface JoinedRoom {
  readonly room: string;
  readonly lastSeq: number;
  /** The first page of the room's users (sorted); who() lists them all when memberCount says there are more. */
  readonly members: readonly string[];
  readonly memberCount: number;
}

/** One `who` frame: a page of a room's users. */
interface WhoPage {
  readonly members: readonly string[];
  readonly hasMore: boolean;
}

export interface PresenceChange {
  readonly room: string;
  readonly user: string;
  readonly event: PresenceEvent;
}

/** The owner or an admin removed this user from a room: the client has left it and will not re-join it. */
export interface Removed {
  readonly room: string;
}

export interface Invited {
  readonly room: string;
  readonly user: string;
  readonly role: GrantedRole;
}

export interface JoinOptions {
  /** How many recent messages to deliver before the live ones, on the first join. */
  readonly backlog?: number;
  /** Only for a new room: "private" creates it owned by this user (see docs/protocol.md#private-rooms). */
  readonly visibility?: Visibility;
}

export interface Typing {
  readonly room: string;
  readonly user: string;
}

/** A send that will be sent again (same clientMsgId) after `delayMs`, and why: apps show it as still pending. */
export interface SendRetry {
  readonly room: string;
  readonly clientMsgId: string;
  /**
   * TIMEOUT when no ack came in time, SESSION_EXPIRED when the connection outlived its token (sent again on the
   * next connection, whose token is fresh), else the server's retryable refusal (RATE_LIMITED, IN_PROGRESS, INTERNAL).
   */
  readonly error: ChatClientError;
  readonly delayMs: number;
}

export interface ChatClientEvents {
  /** Each message once, in seq order per room. */
  message: MessageView;
  presence: PresenceChange;
  typing: Typing;
  removed: Removed;
  /** Every joined frame: the first join of a room and each re-join after a reconnect. */
  joined: JoinedRoom;
  state: StateChange;
  /** Errors no pending call can take: server errors without a clientMsgId, gateway failures, token failures. */
  error: ChatClientError;
  sendRetry: SendRetry;
}

/** Server codes, and the client's own: no reply in time, client closed, socket or token trouble, gateway failure. */
export type ClientErrorCode = ErrorCode | 'TIMEOUT' | 'CLOSED' | 'CONNECTION' | 'GATEWAY';

export class ChatClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly details: { readonly retryable?: boolean; readonly requestId?: string; readonly clientMsgId?: string } = {},
  ) {
    super(message);
    this.name = 'ChatClientError';
  }
}

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> & { promise: Promise<T> } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface RoomState {
  readonly name: string;
  readonly sequencer: RoomSequencer;
  /** On the first join: how many recent messages to deliver before the live ones. */
  readonly backlog: number;
  readonly visibility?: Visibility;
  /** A joined frame arrived on the current socket: requests for the room may be sent. */
  joined: boolean;
  lastJoined?: JoinedRoom;
  readonly joinWaiters: Deferred<JoinedRoom>[];
  joinTimer?: ReturnType<typeof setTimeout>;
  /** A history page (or a resuming join's) is on its way: at most one per room at a time. */
  historyTimer?: ReturnType<typeof setTimeout>;
  fillTimer?: ReturnType<typeof setTimeout>;
  lastTypingAt: number;
}

/** The presigned POST an upload request is answered with (docs/protocol.md#attachments). */
export type UploadGrant = Omit<Extract<ServerFrame, { type: 'upload' }>, 'type' | 'requestId'>;
/** The presigned GET a download request is answered with. */
export type DownloadLink = Omit<Extract<ServerFrame, { type: 'download' }>, 'type'>;

export interface UploadDeclaration {
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
}

/** An upload or download request waiting for its reply; its id goes out as requestId and clientMsgId (errors echo the latter). */
interface FileRequest extends Waiter<UploadGrant | DownloadLink> {
  readonly kind: 'upload' | 'download';
  readonly attachmentId?: string;
}

interface PendingSend {
  readonly room: string;
  readonly text: string;
  readonly attachments?: readonly string[];
  readonly clientMsgId: string;
  readonly result: Deferred<Ack> & { readonly promise: Promise<Ack> };
  /** Timeouts and retryable errors so far: the backoff before the next attempt grows with them. */
  failures: number;
  lastError?: ChatClientError;
  /** The socket it was last sent on; after a reconnect it is sent again. */
  sentOn?: WebSocketLike;
  timer?: ReturnType<typeof setTimeout>;
  /** Rejects the send once sendTimeoutMs has passed without an ack. */
  giveUp: ReturnType<typeof setTimeout>;
}

interface Waiter<T> extends Deferred<T> {
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A pending invite or remove, matched to its reply by what it asked. */
interface AccessRequest extends Waiter<Invited | void> {
  readonly action: 'invite' | 'remove';
  readonly room: string;
  readonly user: string;
}

type ParsedFrame = ServerFrame | { type?: undefined; message?: string; requestId?: string };

export class ChatClient extends TypedEmitter<ChatClientEvents> {
  private readonly options: Required<Omit<ChatClientOptions, 'webSocket'>> & { webSocket: WebSocketFactory };
  private socket?: WebSocketLike;
  private currentState: ConnectionState = 'idle';
  private reconnectAttempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private heartbeatTimer?: ReturnType<typeof setInterval>;
  private heartbeatDeadline?: ReturnType<typeof setTimeout>;
  private readonly rooms = new Map<string, RoomState>();
  private readonly sends = new Map<string, PendingSend>();
  /** Keyed by room and the page's `after` cursor (whoKey), which the server echoes. */
  private readonly whoWaiters = new Map<string, Waiter<WhoPage>[]>();
  private readonly leaveWaiters = new Map<string, Waiter<void>[]>();
  /**
   * join, invite and remove carry a `clientMsgId` the server echoes on an error frame (only there): it tells
   * which request was refused. Joins are keyed to their room, invites and removes to their waiter.
   */
  private readonly joinRequests = new Map<string, string>();
  private readonly accessRequests = new Map<string, AccessRequest>();
  private readonly fileRequests = new Map<string, FileRequest>();
  private readonly opened = deferred<void>();

  constructor(options: ChatClientOptions) {
    super();
    // A malformed URL is the caller's bug: say so now rather than on every reconnect.
    new URL(options.url);
    this.options = {
      backoff: DEFAULT_BACKOFF,
      ackTimeoutMs: 10_000,
      sendTimeoutMs: 120_000,
      requestTimeoutMs: 10_000,
      gapFillDelayMs: 300,
      heartbeatIntervalMs: 60_000,
      heartbeatTimeoutMs: 10_000,
      random: Math.random,
      newClientMsgId: () => globalThis.crypto.randomUUID(),
      ...options,
      webSocket: options.webSocket ?? globalWebSocketFactory(),
    };
    // Nobody may be awaiting it (connect() was never called, or close() came first).
    this.opened.promise.catch(() => undefined);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Starts connecting; resolves once the first connection is open (it keeps retrying until then). */
  connect(): Promise<void> {
    if (this.currentState === 'idle') void this.openSocket();
    return this.opened.promise;
  }

  /**
   * Skips the wait before the next reconnect attempt, for a caller that knows the network is back (a browser's
   * `online` event): the backoff may have grown to many seconds while it was down. Does nothing unless the
   * client is waiting to reconnect.
   */
  reconnectNow(): void {
    if (this.currentState !== 'reconnecting') return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.openSocket();
  }

  /** Closes for good: pending sends and requests reject with CLOSED. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.setState({ state: 'closed' });
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'client closed');
    this.opened.reject(closedError());
    for (const room of this.rooms.values()) this.forgetRoom(room, closedError);
    for (const send of this.sends.values()) this.failSend(send, closedError());
    for (const waiter of [...this.whoWaiters.values()].flat()) settle(waiter, closedError());
    for (const waiter of [...this.leaveWaiters.values()].flat()) settle(waiter, closedError());
    for (const waiter of this.accessRequests.values()) settle(waiter, closedError());
    for (const waiter of this.fileRequests.values()) settle(waiter, closedError());
    this.fileRequests.clear();
    this.whoWaiters.clear();
    this.leaveWaiters.clear();
    this.accessRequests.clear();
  }

  /**
   * Joins a room (again after every reconnect, resuming after the last delivered seq). With `backlog`, the
   * last `backlog` messages are delivered first. Resolves with the first joined frame; rejects when the server
   * refuses the room for good (FORBIDDEN, ROOM_EXISTS, TOO_MANY_ROOMS, ROOM_FULL), and then does not try again.
   */
  join(room: string, options: JoinOptions = {}): Promise<JoinedRoom> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (!ROOM_PATTERN.test(room)) {
      return Promise.reject(new ChatClientError('BAD_REQUEST', `room must match ${ROOM_PATTERN.source}`));
    }
    const existing = this.rooms.get(room);
    if (existing?.joined && existing.lastJoined) return Promise.resolve(existing.lastJoined);
    const state: RoomState = existing ?? {
      name: room,
      sequencer: new RoomSequencer(),
      backlog: Math.max(0, Math.floor(options.backlog ?? 0)),
      ...(options.visibility ? { visibility: options.visibility } : {}),
      joined: false,
      joinWaiters: [],
      lastTypingAt: -Infinity,
    };
    this.rooms.set(room, state);
    const result = deferred<JoinedRoom>();
    state.joinWaiters.push(result);
    if (!existing) this.sendJoin(state);
    return result.promise;
  }

  /** Leaves a room; pending sends to it reject with NOT_A_MEMBER. */
  leave(room: string): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    const state = this.rooms.get(room);
    if (!state) return Promise.resolve();
    this.forgetRoom(state, () => new ChatClientError('NOT_A_MEMBER', `left room ${room}`));
    if (!this.isOpen()) return Promise.resolve();
    const reply = this.waitFor(this.leaveWaiters, room, `leave ${room}`);
    this.transmit({ action: 'leave', room });
    return reply;
  }

  /**
   * Sends a message and resolves with its ack. It is kept and retried under the same clientMsgId (so it is
   * stored once) across timeouts, retryable errors (RATE_LIMITED waits retryAfterMs) and reconnects.
   */
  send(room: string, text: string, options: { clientMsgId?: string; attachments?: readonly string[] } = {}): Promise<Ack> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (!this.rooms.has(room)) return Promise.reject(new ChatClientError('NOT_A_MEMBER', `join room ${room} first`));
    const attachments = options.attachments ?? [];
    if (text.length === 0 && attachments.length === 0) return Promise.reject(new ChatClientError('BAD_REQUEST', 'text must not be empty'));
    if (attachments.length > MAX_ATTACHMENTS) {
      return Promise.reject(new ChatClientError('BAD_REQUEST', `attachments must list at most ${MAX_ATTACHMENTS} attachments`));
    }
    if (codePointLength(text) > MAX_TEXT_CODE_POINTS) {
      return Promise.reject(
        new ChatClientError('TOO_LARGE', `text must be at most ${MAX_TEXT_CODE_POINTS} Unicode code points`),
      );
    }
    const clientMsgId = options.clientMsgId ?? this.options.newClientMsgId();
    if (clientMsgId.length === 0 || clientMsgId.length > MAX_CLIENT_MSG_ID_LENGTH) {
      return Promise.reject(
        new ChatClientError('BAD_REQUEST', `clientMsgId must be 1 to ${MAX_CLIENT_MSG_ID_LENGTH} characters`),
      );
    }
    const existing = this.sends.get(clientMsgId);
    if (existing) return existing.result.promise;
    const pending: PendingSend = {
      room,
      text,
      ...(attachments.length ? { attachments } : {}),
      clientMsgId,
      result: deferred<Ack>(),
      failures: 0,
      giveUp: setTimeout(() => {
        const last = pending.lastError ? ` (last: ${pending.lastError.code} ${pending.lastError.message})` : '';
        this.failSend(pending, new ChatClientError('TIMEOUT', `not acknowledged within ${this.options.sendTimeoutMs} ms${last}`));
      }, this.options.sendTimeoutMs),
    };
    this.sends.set(clientMsgId, pending);
    this.trySend(pending);
    return pending.result.promise;
  }

  /** Gives `user` a role (default member) in a private room this user owns or administers. */
  invite(room: string, user: string, options: { role?: GrantedRole } = {}): Promise<Invited> {
    const role = options.role ?? 'member';
    return this.accessRequest({ action: 'invite', room, user, role }, `invite ${user} to ${room}`) as Promise<Invited>;
  }

  /** Withdraws `user`'s access to a private room; their connections are told with a `removed` frame. */
  async remove(room: string, user: string): Promise<void> {
    await this.accessRequest({ action: 'remove', room, user }, `remove ${user} from ${room}`);
  }

  private accessRequest(
    frame: { action: 'invite' | 'remove'; room: string; user: string; role?: GrantedRole },
    what: string,
  ): Promise<Invited | void> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (!ROOM_PATTERN.test(frame.room)) {
      return Promise.reject(new ChatClientError('BAD_REQUEST', `room must match ${ROOM_PATTERN.source}`));
    }
    if (!USER_ID_PATTERN.test(frame.user)) {
      return Promise.reject(new ChatClientError('BAD_REQUEST', `user must match ${USER_ID_PATTERN.source}`));
    }
    if (!this.isOpen()) return Promise.reject(new ChatClientError('CONNECTION', `not connected: ${what} was not sent`));
    const clientMsgId = this.options.newClientMsgId();
    const result = deferred<Invited | void>();
    const timer = setTimeout(() => {
      this.accessRequests.delete(clientMsgId);
      result.reject(new ChatClientError('TIMEOUT', `no reply to ${what} within ${this.options.requestTimeoutMs} ms`));
    }, this.options.requestTimeoutMs);
    const { action, room, user } = frame;
    this.accessRequests.set(clientMsgId, { resolve: result.resolve, reject: result.reject, timer, action, room, user });
    this.transmit({ ...frame, clientMsgId });
    return result.promise;
  }

  /** Asks for a presigned POST for one file (postUpload in client/attachments.ts uploads it); members only. */
  requestUpload(room: string, file: UploadDeclaration): Promise<UploadGrant> {
    return this.fileRequest('upload', { action: 'upload', room, fileName: file.fileName, contentType: file.contentType, size: file.size }) as Promise<UploadGrant>;
  }

  /** Asks for a presigned GET of an attachment of a message in the room (5 minutes). */
  download(room: string, attachmentId: string): Promise<DownloadLink> {
    return this.fileRequest('download', { action: 'download', room, attachmentId }, attachmentId) as Promise<DownloadLink>;
  }

  private fileRequest(kind: 'upload' | 'download', frame: Record<string, unknown> & { room: string }, attachmentId?: string): Promise<UploadGrant | DownloadLink> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (!this.isOpen()) return Promise.reject(new ChatClientError('CONNECTION', `not connected: ${kind} was not sent`));
    const id = this.options.newClientMsgId();
    const result = deferred<UploadGrant | DownloadLink>();
    const timer = setTimeout(() => {
      this.fileRequests.delete(id);
      result.reject(new ChatClientError('TIMEOUT', `no reply to ${kind} in ${frame.room} within ${this.options.requestTimeoutMs} ms`));
    }, this.options.requestTimeoutMs);
    this.fileRequests.set(id, { resolve: result.resolve, reject: result.reject, timer, kind, ...(attachmentId ? { attachmentId } : {}) });
    this.transmit({ ...frame, ...(kind === 'upload' ? { requestId: id } : {}), clientMsgId: id });
    return result.promise;
  }

  /** Upload replies echo the requestId; a download reply goes to the oldest request for its attachment. */
  private onFileReply(frame: Extract<ServerFrame, { type: 'upload' } | { type: 'download' }>): void {
    const entry =
      frame.type === 'upload'
        ? [...this.fileRequests].find(([id]) => id === frame.requestId)
        : [...this.fileRequests].find(([, w]) => w.kind === 'download' && w.attachmentId === frame.attachmentId);
    if (!entry) return;
    const [id, waiter] = entry;
    this.fileRequests.delete(id);
    clearTimeout(waiter.timer);
    if (frame.type === 'upload') {
      const { type: _type, requestId: _id, ...grant } = frame;
      waiter.resolve(grant);
    } else {
      const { type: _type, ...link } = frame;
      waiter.resolve(link);
    }
  }

  /** Tells the room's other users that this user is typing; throttled to one per room every 2 s. */
  typing(room: string): void {
    const state = this.rooms.get(room);
    const now = Date.now();
    if (!state?.joined || !this.isOpen() || now - state.lastTypingAt < TYPING_INTERVAL_MS) return;
    state.lastTypingAt = now;
    this.transmit({ action: 'typing', room });
  }

  /** The users present in a joined room, sorted: every page of them (a frame lists at most 500). */
  async who(room: string): Promise<string[]> {
    const members: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.whoPage(room, after);
      members.push(...page.members);
      after = page.members.at(-1);
      if (!page.hasMore || after === undefined) return members;
    }
  }

  private whoPage(room: string, after: string | undefined): Promise<WhoPage> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (!this.rooms.get(room)?.joined || !this.isOpen()) {
      return Promise.reject(new ChatClientError('NOT_A_MEMBER', `room ${room} is not joined on an open connection`));
    }
    const reply = this.waitFor(this.whoWaiters, whoKey(room, after), `who ${room}`);
    this.transmit({ action: 'who', room, ...(after === undefined ? {} : { after }) });
    return reply;
  }

  // ---- connection ------------------------------------------------------------------------------------------

  private async openSocket(): Promise<void> {
    this.setState({ state: 'connecting', attempt: this.reconnectAttempt + 1 });
    let token: string;
    try {
      token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    } catch (error) {
      this.emit('error', new ChatClientError('CONNECTION', `could not get a token: ${String(error)}`));
      this.scheduleReconnect('no token');
      return;
    }
    if (this.currentState === 'closed') return;
    const url = new URL(this.options.url);
    url.searchParams.set('token', token);
    let socket: WebSocketLike;
    try {
      socket = this.options.webSocket(url.toString());
    } catch (error) {
      this.emit('error', new ChatClientError('CONNECTION', `could not open a socket: ${String(error)}`));
      this.scheduleReconnect('socket creation failed');
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => socket === this.socket && this.onOpen());
    socket.addEventListener('message', (event) => socket === this.socket && this.onFrame(String(event.data)));
    socket.addEventListener('close', (event) => socket === this.socket && this.onSocketGone(`closed with ${event.code}`));
    // Browsers give errors no detail and always follow them with close; nothing to do here.
    socket.addEventListener('error', () => undefined);
  }

  private onOpen(): void {
    this.setState({ state: 'open' });
    this.opened.resolve();
    this.startHeartbeat();
    for (const room of this.rooms.values()) this.sendJoin(room);
  }

  /** The socket closed or went silent: everything in flight on it is re-sent on the next one. */
  private onSocketGone(reason: string): void {
    const socket = this.socket;
    this.socket = undefined;
    this.stopHeartbeat();
    for (const room of this.rooms.values()) {
      room.joined = false;
      clearTimeout(room.joinTimer);
      clearTimeout(room.historyTimer);
      clearTimeout(room.fillTimer);
      room.historyTimer = room.fillTimer = room.joinTimer = undefined;
    }
    for (const send of this.sends.values()) clearTimeout(send.timer);
    for (const waiter of [...this.whoWaiters.values()].flat()) {
      settle(waiter, new ChatClientError('CONNECTION', `connection lost (${reason})`));
    }
    // A membership ends with its connection: a leave in flight has done its job.
    for (const waiter of [...this.leaveWaiters.values()].flat()) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    // Not resent: an invite or remove may have been applied; the caller decides whether to ask again.
    for (const waiter of this.accessRequests.values()) {
      settle(waiter, new ChatClientError('CONNECTION', `connection lost (${reason})`));
    }
    for (const waiter of this.fileRequests.values()) settle(waiter, new ChatClientError('CONNECTION', `connection lost (${reason})`));
    this.fileRequests.clear();
    this.whoWaiters.clear();
    this.leaveWaiters.clear();
    this.accessRequests.clear();
    this.joinRequests.clear();
    if (socket && socket.readyState === SOCKET_OPEN) socket.close(4000, reason);
    this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    if (this.currentState === 'closed') return;
    const delayMs = backoffDelay(this.reconnectAttempt, this.options.backoff, this.options.random);
    this.reconnectAttempt++;
    this.setState({ state: 'reconnecting', attempt: this.reconnectAttempt, delayMs, reason });
    this.reconnectTimer = setTimeout(() => void this.openSocket(), delayMs);
  }

  private startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => {
      this.transmit({ action: 'ping' });
      this.heartbeatDeadline ??= setTimeout(() => this.onSocketGone('heartbeat timed out'), this.options.heartbeatTimeoutMs);
    }, this.options.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.heartbeatDeadline);
    this.heartbeatTimer = this.heartbeatDeadline = undefined;
  }

  private isOpen(): boolean {
    return this.socket?.readyState === SOCKET_OPEN && this.currentState === 'open';
  }

  private transmit(frame: Record<string, unknown>): void {
    if (this.isOpen()) this.socket?.send(JSON.stringify(frame));
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit('state', change);
  }

  // ---- incoming frames -------------------------------------------------------------------------------------

  private onFrame(data: string): void {
    // Any frame proves the socket alive, and that connecting works again.
    clearTimeout(this.heartbeatDeadline);
    this.heartbeatDeadline = undefined;
    this.reconnectAttempt = 0;
    let frame: ParsedFrame;
    try {
      frame = JSON.parse(data) as ParsedFrame;
    } catch {
      this.emit('error', new ChatClientError('GATEWAY', `unreadable frame: ${data.slice(0, 200)}`));
      return;
    }
    switch (frame.type) {
      case 'joined':
        return this.onJoined(frame);
      case 'history':
        return this.onHistory(frame);
      case 'message':
        return this.onMessages(frame.room, [frame]);
      case 'ack':
        return this.onAck(frame);
      case 'presence':
        return this.emit('presence', { room: frame.room, user: frame.user, event: frame.event });
      case 'typing':
        return this.emit('typing', { room: frame.room, user: frame.user });
      case 'who':
        return this.resolveWaiters(this.whoWaiters, whoKey(frame.room, frame.after), { members: frame.members, hasMore: frame.hasMore });
      case 'left':
        return this.resolveWaiters(this.leaveWaiters, frame.room, undefined);
      case 'invited':
        return this.onAccessReply(frame.room, frame.user, 'invite', { room: frame.room, user: frame.user, role: frame.role });
      case 'removed':
        return frame.user === undefined ? this.onRemoved(frame.room) : this.onAccessReply(frame.room, frame.user, 'remove', undefined);
      case 'upload':
      case 'download':
        return this.onFileReply(frame);
      case 'error':
        return this.onError(frame);
      case 'pong':
        return;
      default:
        // API Gateway's own failure frame ({"message":"Internal server error",…}): the request is lost, and a
        // pending send's ack timeout sends it again.
        this.emit('error', new ChatClientError('GATEWAY', frame.message ?? 'unknown frame', { requestId: frame.requestId }));
    }
  }

  private onJoined(frame: Extract<ServerFrame, { type: 'joined' }>): void {
    const room = this.rooms.get(frame.room);
    if (!room) return;
    room.joined = true;
    for (const [clientMsgId, name] of this.joinRequests) if (name === frame.room) this.joinRequests.delete(clientMsgId);
    clearTimeout(room.joinTimer);
    room.joinTimer = undefined;
    room.sequencer.knowsOf(frame.lastSeq);
    this.deliver(room.sequencer.start(Math.max(0, frame.lastSeq - room.backlog)));
    const joined: JoinedRoom = { room: frame.room, lastSeq: frame.lastSeq, members: frame.members, memberCount: frame.memberCount };
    room.lastJoined = joined;
    this.emit('joined', joined);
    for (const waiter of room.joinWaiters.splice(0)) waiter.resolve(joined);
    for (const send of this.sends.values()) if (send.room === room.name) this.trySend(send);
    this.fill(room);
  }

  private onHistory({ room: roomName, messages, hasMore, throughSeq }: Extract<ServerFrame, { type: 'history' }>): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    clearTimeout(room.historyTimer);
    room.historyTimer = undefined;
    this.deliver(room.sequencer.accept(messages));
    // Pages this client asks for start at its cursor (or an earlier one): what they lack up to throughSeq is gone.
    if (throughSeq !== undefined) this.deliver(room.sequencer.completeThrough(throughSeq));
    const last = throughSeq ?? messages.at(-1)?.seq;
    if (hasMore && last !== undefined) room.sequencer.knowsOf(last + 1);
    this.fill(room);
  }

  private onMessages(roomName: string, messages: readonly MessageView[]): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    this.deliver(room.sequencer.accept(messages.map(messageOf)));
    this.scheduleFill(room);
  }

  private onAck(frame: Extract<ServerFrame, { type: 'ack' }>): void {
    const room = this.rooms.get(frame.room);
    if (room) {
      room.sequencer.knowsOf(frame.seq);
      this.scheduleFill(room);
    }
    const send = this.sends.get(frame.clientMsgId);
    if (!send || send.room !== frame.room) return;
    clearTimeout(send.timer);
    clearTimeout(send.giveUp);
    this.sends.delete(send.clientMsgId);
    send.result.resolve({ room: frame.room, clientMsgId: frame.clientMsgId, seq: frame.seq, id: frame.id, ts: frame.ts });
  }

  /** Replies carry no clientMsgId: the oldest pending request of that kind for that room and user takes it. */
  private onAccessReply(room: string, user: string, action: 'invite' | 'remove', value: Invited | undefined): void {
    for (const [clientMsgId, waiter] of this.accessRequests) {
      if (waiter.action !== action || waiter.room !== room || waiter.user !== user) continue;
      this.accessRequests.delete(clientMsgId);
      clearTimeout(waiter.timer);
      waiter.resolve(value);
      return;
    }
  }

  /** This user was removed from the room: it is forgotten (pending sends fail) and not re-joined. */
  private onRemoved(roomName: string): void {
    const room = this.rooms.get(roomName);
    if (room) this.forgetRoom(room, () => new ChatClientError('FORBIDDEN', `removed from room ${roomName}`));
    this.emit('removed', { room: roomName });
  }

  private onError(frame: Extract<ServerFrame, { type: 'error' }>): void {
    const details = { retryable: frame.retryable, requestId: frame.requestId, clientMsgId: frame.clientMsgId };
    const error = new ChatClientError(frame.code, frame.message, details);
    // About the connection, not the request: checked first, so a join refused with it keeps its room.
    if (frame.code === 'SESSION_EXPIRED') return this.onSessionExpired(error);
    if (frame.clientMsgId !== undefined && this.onRequestError(frame.clientMsgId, error)) return;
    if (frame.clientMsgId !== undefined) {
      const send = this.sends.get(frame.clientMsgId);
      // No pending send: a late reply to an attempt whose retry was already acknowledged.
      if (send) this.onSendError(send, frame.retryable, frame.retryAfterMs, error);
      return;
    }
    this.emit('error', error);
  }

  /** An error answering a join, invite or remove (by its clientMsgId); false when it answers none of them. */
  private onRequestError(clientMsgId: string, error: ChatClientError): boolean {
    const file = this.fileRequests.get(clientMsgId);
    if (file) {
      this.fileRequests.delete(clientMsgId);
      settle(file, error);
      return true;
    }
    const access = this.accessRequests.get(clientMsgId);
    if (access) {
      this.accessRequests.delete(clientMsgId);
      settle(access, error);
      return true;
    }
    const roomName = this.joinRequests.get(clientMsgId);
    if (roomName === undefined) return false;
    this.joinRequests.delete(clientMsgId);
    const room = this.rooms.get(roomName);
    // A retryable refusal (RATE_LIMITED, INTERNAL) is retried by the join's timer; the app hears of it.
    if (!room || error.details.retryable) return false;
    const waited = room.joinWaiters.length > 0;
    this.forgetRoom(room, () => error);
    // A re-join after a reconnect has no caller waiting: the app is told instead.
    if (!waited) this.emit('error', error);
    return true;
  }

  /**
   * The connection outlived its token: the server closes it. The send it refused is not failed (the refusal is
   * about the connection, not the message): like everything in flight, it is sent again under the same
   * clientMsgId once a connection with a fresh token has re-joined its room.
   */
  private onSessionExpired(error: ChatClientError): void {
    const send = error.details.clientMsgId === undefined ? undefined : this.sends.get(error.details.clientMsgId);
    if (send) {
      send.lastError = error;
      this.emit('sendRetry', { room: send.room, clientMsgId: send.clientMsgId, error, delayMs: 0 });
    } else {
      this.emit('error', error);
    }
    this.onSocketGone('session expired');
  }

  private onSendError(
    send: PendingSend,
    retryable: boolean,
    retryAfterMs: number | undefined,
    error: ChatClientError,
  ): void {
    clearTimeout(send.timer);
    if (!retryable) {
      this.failSend(send, error);
      return;
    }
    this.retryLater(send, retryAfterMs, error);
  }

  private deliver(messages: readonly MessageView[]): void {
    for (const message of messages) this.emit('message', message);
  }

  // ---- rooms -----------------------------------------------------------------------------------------------

  /** (Re-)joins on the current socket, resuming after the last delivered seq; retried until joined. */
  private sendJoin(room: RoomState): void {
    if (!this.isOpen()) return;
    const afterSeq = room.sequencer.lastDelivered;
    const clientMsgId = this.options.newClientMsgId();
    this.joinRequests.set(clientMsgId, room.name);
    this.transmit({
      action: 'join',
      room: room.name,
      clientMsgId,
      ...(afterSeq === undefined ? {} : { afterSeq }),
      ...(room.visibility ? { visibility: room.visibility } : {}),
    });
    // A resuming join is answered with a history page too: no other page is asked for until it comes.
    if (afterSeq !== undefined) this.expectHistory(room);
    clearTimeout(room.joinTimer);
    room.joinTimer = setTimeout(() => this.sendJoin(room), this.options.requestTimeoutMs);
  }

  /** Asks for the next history page when messages are known to exist that were not delivered. */
  private fill(room: RoomState): void {
    const after = room.sequencer.lastDelivered;
    if (!room.joined || room.historyTimer || after === undefined || !room.sequencer.isBehind()) return;
    this.transmit({ action: 'history', room: room.name, afterSeq: after, limit: HISTORY_MAX_LIMIT });
    this.expectHistory(room);
  }

  /** A gap may close by itself (frames of concurrent sends arrive out of order): wait a little before asking. */
  private scheduleFill(room: RoomState): void {
    if (room.fillTimer || !room.sequencer.isBehind()) return;
    room.fillTimer = setTimeout(() => {
      room.fillTimer = undefined;
      this.fill(room);
    }, this.options.gapFillDelayMs);
  }

  private expectHistory(room: RoomState): void {
    clearTimeout(room.historyTimer);
    room.historyTimer = setTimeout(() => {
      room.historyTimer = undefined;
      this.fill(room);
    }, this.options.requestTimeoutMs);
  }

  private forgetRoom(room: RoomState, error: () => ChatClientError): void {
    this.rooms.delete(room.name);
    for (const [clientMsgId, name] of this.joinRequests) if (name === room.name) this.joinRequests.delete(clientMsgId);
    clearTimeout(room.joinTimer);
    clearTimeout(room.historyTimer);
    clearTimeout(room.fillTimer);
    for (const waiter of room.joinWaiters.splice(0)) waiter.reject(error());
    for (const send of this.sends.values()) if (send.room === room.name) this.failSend(send, error());
  }

  // ---- sends -----------------------------------------------------------------------------------------------

  /** Sends now if the room is joined on an open socket (else it waits for the joined frame), with an ack timeout. */
  private trySend(send: PendingSend): void {
    if (!this.isOpen() || !this.rooms.get(send.room)?.joined || send.sentOn === this.socket) return;
    send.sentOn = this.socket;
    this.transmit({
      action: 'send',
      room: send.room,
      text: send.text,
      clientMsgId: send.clientMsgId,
      ...(send.attachments ? { attachments: send.attachments } : {}),
    });
    send.timer = setTimeout(
      () => this.retryLater(send, 0, new ChatClientError('TIMEOUT', `no ack within ${this.options.ackTimeoutMs} ms`)),
      this.options.ackTimeoutMs,
    );
  }

  /** Counts a failure and sends again after `waitMs`, or after a backoff delay that grows with the failures. */
  private retryLater(send: PendingSend, waitMs: number | undefined, error: ChatClientError): void {
    send.failures++;
    send.lastError = error;
    const delayMs = waitMs ?? backoffDelay(send.failures - 1, this.options.backoff, this.options.random);
    send.timer = setTimeout(() => {
      send.sentOn = undefined;
      this.trySend(send);
    }, delayMs);
    this.emit('sendRetry', { room: send.room, clientMsgId: send.clientMsgId, error, delayMs });
  }

  private failSend(send: PendingSend, error: Error): void {
    clearTimeout(send.timer);
    clearTimeout(send.giveUp);
    this.sends.delete(send.clientMsgId);
    send.result.reject(error);
  }

  // ---- request/reply waiters -------------------------------------------------------------------------------

  private waitFor<T>(waiters: Map<string, Waiter<T>[]>, room: string, what: string): Promise<T> {
    const result = deferred<T>();
    const timer = setTimeout(() => {
      const others = (waiters.get(room) ?? []).filter((w) => w !== waiter);
      if (others.length) waiters.set(room, others);
      else waiters.delete(room);
      result.reject(new ChatClientError('TIMEOUT', `no reply to ${what} within ${this.options.requestTimeoutMs} ms`));
    }, this.options.requestTimeoutMs);
    const waiter: Waiter<T> = { resolve: result.resolve, reject: result.reject, timer };
    waiters.set(room, [...(waiters.get(room) ?? []), waiter]);
    return result.promise;
  }

  private resolveWaiters<T>(waiters: Map<string, Waiter<T>[]>, room: string, value: T): void {
    for (const waiter of waiters.get(room) ?? []) {
      clearTimeout(waiter.timer);
      waiter.resolve(value);
    }
    waiters.delete(room);
  }
}

function whoKey(room: string, after: string | undefined): string {
  // Room and user ids never contain a newline.
  return `${room}\n${after ?? ''}`;
}

function closedError(): ChatClientError {
  return new ChatClientError('CLOSED', 'the client was closed');
}

function settle<T>(waiter: Waiter<T>, error: Error): void {
  clearTimeout(waiter.timer);
  waiter.reject(error);
}

function messageOf(frame: MessageView): MessageView {
  const message = { room: frame.room, seq: frame.seq, id: frame.id, user: frame.user, text: frame.text, ts: frame.ts };
  return frame.attachments?.length ? { ...message, attachments: frame.attachments } : message;
}
