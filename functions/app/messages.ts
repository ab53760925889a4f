import { ChatError } from '../domain/errors.ts';
import { jsonBytes } from '../domain/frame-budget.ts';
import { planHistoryQuery, toHistoryPage, type HistoryQuery } from '../domain/history.ts';
import { IDEMPOTENCY_SECONDS, SEND_LEASE_MS } from '../domain/lifetime.ts';
import { messageExpiresAt } from '../domain/retention.ts';
import { messageFrame, messageView, type HistoryRequest, type MessageView, type SendRequest } from '../domain/protocol.ts';
import { claimAttachments, resolveAttachments } from './attachments.ts';
import type { Caller, Deps } from './context.ts';
import { deliverToRoom } from './fanout.ts';
import type { SendClaim, StoredMessage } from './ports.ts';
import { requireMembership } from './membership.ts';
import { chargeSend } from './rate-limit.ts';

/** Seq slots one send may try before giving up (each failed try means another sender won that slot). */
const MAX_SEQ_ATTEMPTS = 64;

export interface SendOutcome {
  readonly message: StoredMessage;
  /** True when this clientMsgId was already stored: the caller gets the same ack. */
  readonly replay: boolean;
  /** The message already reached its room; false for a new message and for a replay whose fan-out failed. */
  readonly fannedOut: boolean;
}

export function idempotencyKey(room: string, userId: string, clientMsgId: string): string {
  // Room ids and user ids cannot contain '#', so the key is unambiguous.
  return `${room}#${userId}#${clientMsgId}`;
}

/**
 * Stores a message exactly once with single-item conditional writes only (no transactions):
 * 1. claim the (room, user, clientMsgId) key, recording the seq about to be written;
 * 2. write the message at that seq only if the slot is free, moving to the next slot (and the claim with it)
 *    when another sender got there first — so seqs stay contiguous and the message table is the authority;
 * 3. raise the room's counter, which only ever serves as a starting hint.
 * A retry finds the claim, and either replays the stored message, waits for a live owner (IN_PROGRESS),
 * or takes over a claim whose owner died and continues from its seq.
 * Attachments are checked before anything is written, and recorded as this send's once it is claimed and
 * charged: a refused send stores nothing, and its retry under the same clientMsgId may take them again.
 */
export async function sendMessage(deps: Deps, caller: Caller, req: SendRequest): Promise<SendOutcome> {
  await requireMembership(deps, caller, req.room);
  const { store } = deps;
  const key = idempotencyKey(req.room, caller.userId, req.clientMsgId);
  const owner = caller.requestId;
  const isOurs = (m: StoredMessage | undefined): m is StoredMessage =>
    m !== undefined && m.user === caller.userId && m.clientMsgId === req.clientMsgId;
  const attachments = await resolveAttachments(deps, caller, req.room, req.attachments ?? [], key);
  const takeAttachments = async () => {
    try {
      await claimAttachments(deps, caller, req.room, attachments, key);
    } catch (error) {
      await store.releaseClaim(key, owner);
      throw error;
    }
  };

  let seq = (await store.readSeqHint(req.room)) + 1;
  const claim: SendClaim = {
    key,
    seq,
    owner,
    leaseUntil: caller.nowMs + SEND_LEASE_MS,
    expiresAt: Math.floor(caller.nowMs / 1000) + IDEMPOTENCY_SECONDS,
  };
  const existing = await store.claimSend(claim, caller.nowMs);
  if (!existing) {
    // Only a new claim is charged: a replay, a send still in progress and a takeover of one whose owner died
    // (which was charged when it was claimed) are not, so a retried clientMsgId counts once.
    await chargeOrRelease(deps, caller, key, owner);
    await takeAttachments();
  } else {
    const stored = await store.getMessage(req.room, existing.seq);
    if (isOurs(stored)) {
      deps.telemetry.count('IdempotentReplay');
      return { message: stored, replay: true, fannedOut: existing.fannedOut === true };
    }
    if (existing.leaseUntil > caller.nowMs || !(await store.takeOverClaim(existing, owner, claim.leaseUntil))) {
      throw new ChatError('IN_PROGRESS', `clientMsgId ${req.clientMsgId} is still being stored; retry`, true);
    }
    seq = existing.seq;
    // The owner that died may have taken them already: they are this key's, so taking them again succeeds.
    await takeAttachments();
  }

  for (let attempt = 0; attempt < MAX_SEQ_ATTEMPTS; attempt++) {
    const message: StoredMessage = {
      room: req.room,
      seq,
      id: deps.newId(),
      user: caller.userId,
      text: req.text,
      ts: caller.nowMs,
      clientMsgId: req.clientMsgId,
      ...(attachments.length ? { attachments } : {}),
      expiresAt: messageExpiresAt(caller.nowMs, deps.messageRetentionSeconds),
    };
    if (await store.putMessageIfAbsent(message)) {
      await store.advanceSeqHint(req.room, seq);
      deps.telemetry.count('MessagesReceived');
      deps.telemetry.count('MessagePayloadBytes', Buffer.byteLength(req.text, 'utf8'));
      return { message, replay: false, fannedOut: false };
    }
    // Every seq up to the counter is taken, so jump past it rather than probing one slot at a time.
    seq = Math.max(seq + 1, (await store.readSeqHint(req.room)) + 1);
    if (!(await store.moveClaim(key, owner, seq))) {
      throw new ChatError('IN_PROGRESS', `clientMsgId ${req.clientMsgId} was taken over by another request`, true);
    }
  }
  throw new ChatError('INTERNAL', `room ${req.room} is too busy to allocate a sequence number; retry`, true);
}

export interface SentMessage {
  readonly message: StoredMessage;
  /** What the fan-out left for after the ack: the other rooms of connections found gone, and departures. */
  readonly settle?: () => Promise<void>;
}

/**
 * The `send` route's use case: stores the message once, then fans it out unless an earlier try of the same
 * clientMsgId already did, and records that it did. The caller acks after this resolves, so an acknowledged
 * message has reached its room. If the fan-out fails (the members cannot be listed) this throws, the sender
 * gets a retryable error, and the retry, finding the message stored but not fanned out, fans it out.
 */
export async function sendAndDeliver(deps: Deps, caller: Caller, req: SendRequest): Promise<SentMessage> {
  try {
    return await storeAndFanOut(deps, caller, req);
  } catch (error) {
    // The send-availability SLO's bad events (dashboards/slos.ts): the service failed this send; a refusal of
    // the request (not a member, rate limited, a retry while in progress) is the client's, and not counted.
    if (!(error instanceof ChatError) || error.code === 'INTERNAL') deps.telemetry.count('SendsFailed');
    throw error;
  }
}

async function storeAndFanOut(deps: Deps, caller: Caller, req: SendRequest): Promise<SentMessage> {
  const { message, fannedOut } = await sendMessage(deps, caller, req);
  if (fannedOut) return { message };
  const key = idempotencyKey(message.room, caller.userId, message.clientMsgId);
  const settle = await deliverToRoom(deps, message.room, messageFrame(message), caller.nowMs);
  // The room has the message now; failing the send here would only make its retry deliver it twice.
  await deps.store.markFannedOut(key).catch((error: unknown) => deps.telemetry.warn('could not record the fan-out', { error: String(error) }));
  return { message, settle };
}

/** Refuses a send over the connection's rate limit, freeing its claim so the retry is a new send, not IN_PROGRESS. */
async function chargeOrRelease(deps: Deps, caller: Caller, key: string, owner: string): Promise<void> {
  const charge = await chargeSend(deps, caller);
  if (charge.allowed) return;
  await deps.store.releaseClaim(key, owner);
  deps.telemetry.count('RateLimited');
  const { maxSends, windowMs } = deps.sendRate;
  throw new ChatError(
    'RATE_LIMITED',
    `at most ${maxSends} sends per ${windowMs} ms on one connection; retry in ${charge.retryAfterMs} ms`,
    true,
    charge.retryAfterMs,
  );
}

export interface HistoryPage {
  readonly room: string;
  readonly messages: MessageView[];
  readonly hasMore: boolean;
  /** Ascending pages: complete through this seq; a seq up to it that is not in the page was expired or erased. */
  readonly throughSeq?: number;
}

export async function readHistory(deps: Deps, caller: Caller, req: HistoryRequest): Promise<HistoryPage> {
  const query = planHistoryQuery(req);
  await requireMembership(deps, caller, req.room);
  return pageHistory(deps, req.room, query, caller.nowMs);
}

/** One page of a room's history; the caller has checked membership (or just created it). */
export async function pageHistory(deps: Deps, room: string, query: HistoryQuery, nowMs: number): Promise<HistoryPage> {
  // Read before the query, so every seq up to it was stored by the time the query runs (domain/history.ts).
  const newestSeq = query.direction === 'asc' ? await deps.store.readSeqHint(room) : 0;
  const items = await deps.store.queryMessages(room, {
    direction: query.direction,
    afterSeq: query.afterSeq,
    beforeSeq: query.beforeSeq,
    limit: query.fetch,
  });
  // Measured as they go on the wire: views, without the stored clientMsgId. A query DynamoDB cut at 1 MB holds far
  // more than the page's byte budget, so such a cut always shows up as a page cut short, with hasMore.
  const page = toHistoryPage(query, items, { nowMs, newestSeq }, (item) => jsonBytes(messageView(item)));
  return {
    room,
    messages: page.messages.map(messageView),
    hasMore: page.hasMore,
    ...(page.throughSeq === undefined ? {} : { throughSeq: page.throughSeq }),
  };
}

/**
 * The room's newest seq: the highest stored, or the counter when retention or erasure deleted the newest messages
 * (a client starting from a lower one would wait for seqs that exist no more).
 */
export async function newestSeq(deps: Deps, room: string): Promise<number> {
  const [stored, counter] = await Promise.all([deps.store.lastSeq(room), deps.store.readSeqHint(room)]);
  return Math.max(stored, counter);
}
