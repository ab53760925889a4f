import { cutShards, isLargeRoom, MAX_SHARD_CONTINUATIONS, POST_RETRY, type FanoutShard, type Recipient } from '../domain/fanout.ts';
import { presenceFrame, type PresenceEvent, type ServerFrame } from '../domain/protocol.ts';
import { forEachLimited } from './concurrency.ts';
import type { Deps } from './context.ts';
import { removeConnection, removeFromRoom, type Departure } from './departures.ts';
import { postWithRetry } from './posting.ts';

/** Who in the room gets a frame: everyone, or everyone but one user's connections (presence, typing). */
export interface Audience {
  readonly exceptUser?: string;
}

type Frame = FanoutShard['frame'] | ServerFrame;

export interface DeliveryResult {
  readonly delivered: number;
  readonly pruned: number;
  /** Posts that failed for good (not throttling, not a fault that may pass). */
  readonly failed: number;
  /** Recipients not reached yet: still throttled or failing transiently after the retries, or out of time. */
  readonly leftovers: Recipient[];
  /** Users whose last connection in this room was among the pruned ones. */
  readonly departures: Departure[];
  /** Connections found gone: removed from this room; their other rooms are still to be cleaned up. */
  readonly gone: Recipient[];
}

export interface FanoutResult extends DeliveryResult {
  /** Shards handed to the fan-out function; 0 when the room was delivered by the caller. */
  readonly shards: number;
}

/** Shard invocations handed over at once; each is one quick Invoke call. */
const DISPATCH_CONCURRENCY = 8;

/**
 * Posts a frame to each recipient, `deps.fanout.concurrency` at a time. A gone connection is pruned; a throttled
 * post (LimitExceeded) or one failing transiently is retried (postWithRetry), and left over when the retries
 * run out; any other failure is counted and logged. Once `hasTime` says no, the rest are left
 * over untried. Nothing here fails the caller: the message is already stored.
 */
export async function deliver(
  deps: Deps,
  room: string,
  frame: Frame,
  recipients: readonly Recipient[],
  nowMs: number,
  hasTime: () => boolean = () => true,
): Promise<DeliveryResult> {
  let delivered = 0;
  let pruned = 0;
  let failed = 0;
  const leftovers: Recipient[] = [];
  const departures: Departure[] = [];
  const gone: Recipient[] = [];
  await forEachLimited(recipients, deps.fanout.concurrency, async (recipient) => {
    if (recipient.sessionEndsAt !== undefined && recipient.sessionEndsAt * 1000 <= nowMs) return closeEndedSession(deps, room, recipient);
    const post = await postWithRetry(deps.notifier, recipient.connectionId, frame, hasTime);
    switch (post.outcome) {
      case 'delivered':
        delivered++;
        return;
      case 'gone': {
        const removal = await removeFromRoom(deps.store, recipient, room, nowMs);
        departures.push(...removal.departures);
        gone.push(recipient);
        // Concurrent fan-outs may all find the same connection gone; it is counted by the one that removed it.
        if (removal.removed) pruned++;
        return;
      }
      case 'failed':
        failed++;
        deps.telemetry.count('DeliveryFailed');
        deps.telemetry.warn('delivery failed', { room, targetConnectionId: recipient.connectionId, error: String(post.error) });
        return;
      case 'unreached':
        leftovers.push(recipient);
    }
  });
  return { delivered, pruned, failed, leftovers, departures, gone };
}

/**
 * A member whose token expired over the grace period before gets no more of the room: its connection is closed
 * (its $disconnect then cleans up) instead of posted to. A connection that only listens would otherwise keep
 * reading for up to 2 hours after its token ended, since only a frame it sends is refused with SESSION_EXPIRED.
 */
async function closeEndedSession(deps: Deps, room: string, recipient: Recipient): Promise<void> {
  try {
    if (await deps.notifier.disconnect(recipient.connectionId)) deps.telemetry.count('SessionsExpired');
  } catch (error) {
    deps.telemetry.warn('could not close a connection whose session ended', { room, targetConnectionId: recipient.connectionId, error: String(error) });
  }
}

/**
 * Counts a delivery in the metrics catalog's terms: message metrics stay about messages. `posted` is how many
 * recipients this delivery was for (the room's, or one shard's); `roomRecipients` is the room's count, given
 * where the fan-out started (a shard's were counted by the function that cut it).
 */
function recordDelivery(deps: Deps, room: string, frame: Frame, result: DeliveryResult, startedMs: number, posted: number, roomRecipients?: number): void {
  if (frame.type === 'message') {
    if (roomRecipients !== undefined) deps.telemetry.count('FanoutRecipients', roomRecipients);
    deps.telemetry.count('MessagesDelivered', result.delivered);
    // Room and size travel with the duration as metadata: the slow-fanouts query shows them on each line, a
    // shard's included (its metric line has no FanoutRecipients: the function that cut it counted the room).
    deps.telemetry.durationMs('FanoutDuration', Date.now() - startedMs, { room, recipients: String(posted) });
  } else if (result.delivered) {
    deps.telemetry.count('EventsDelivered', result.delivered);
  }
  if (result.pruned) deps.telemetry.count('StaleConnectionsPruned', result.pruned);
}

/** Recipients left over for good: counted, and logged once per fan-out (each failed post logged its own line). */
function countFailed(deps: Deps, room: string, leftovers: number, reason: string): void {
  if (!leftovers) return;
  deps.telemetry.count('DeliveryFailed', leftovers);
  deps.telemetry.warn('recipients not reached', { room, recipients: leftovers, reason });
}

/**
 * Posts a frame to every live member of a room in the audience. A room above the stage's threshold is cut into
 * shards handed to the fan-out function, and this resolves once they are queued (their departures are announced
 * there); a smaller one is delivered here. Throws only when the members cannot be listed or a shard cannot be
 * handed over: then nothing, or not everything, has been queued, and the caller's retry fans out again.
 */
export async function fanOut(
  deps: Deps,
  room: string,
  frame: ServerFrame,
  nowMs: number,
  audience: Audience = {},
): Promise<FanoutResult> {
  const started = Date.now();
  const members = (await deps.store.listMembers(room, nowMs)).filter((m) => m.userId !== audience.exceptUser);
  const recipients = members.map(({ connectionId, userId, sessionEndsAt }) => ({ connectionId, userId, ...(sessionEndsAt === undefined ? {} : { sessionEndsAt }) }));
  const largeRooms = deps.fanout.largeRooms;
  if (isLargeRoom(recipients.length, largeRooms)) {
    const shards = cutShards(recipients, largeRooms.shardSize);
    await forEachLimited(shards, DISPATCH_CONCURRENCY, (shard) =>
      largeRooms.dispatcher.dispatch({ room, frame, recipients: shard, attempt: 0, startedAt: nowMs }),
    );
    deps.telemetry.count('FanoutShards', shards.length);
    if (frame.type === 'message') deps.telemetry.count('FanoutRecipients', recipients.length);
    return { delivered: 0, pruned: 0, failed: 0, leftovers: [], departures: [], gone: [], shards: shards.length };
  }
  const result = await deliver(deps, room, frame, recipients, nowMs);
  recordDelivery(deps, room, frame, result, started, recipients.length, recipients.length);
  // Nothing follows a fan-out made here: what is left over has failed.
  countFailed(deps, room, result.leftovers.length, `still throttled or failing after ${POST_RETRY.attempts} tries`);
  return { ...result, shards: 0 };
}

/**
 * The fan-out function's use case: delivers one shard, hands what is left over (throttled, failing transiently
 * or out of time) to a continuation shard up to MAX_SHARD_CONTINUATIONS times, then announces the departures of
 * the connections it found gone. Recipients still unreached after that count as DeliveryFailed; they catch up
 * through `join` with `afterSeq` when they reconnect.
 */
export async function deliverShard(deps: Deps, shard: FanoutShard, hasTime: () => boolean): Promise<void> {
  const started = Date.now();
  const result = await deliver(deps, shard.room, shard.frame, shard.recipients, shard.startedAt, hasTime);
  recordDelivery(deps, shard.room, shard.frame, result, started, shard.recipients.length);
  const { leftovers } = result;
  const dispatcher = deps.fanout.largeRooms?.dispatcher;
  if (leftovers.length && dispatcher && shard.attempt < MAX_SHARD_CONTINUATIONS) {
    await dispatcher.dispatch({ ...shard, recipients: leftovers, attempt: shard.attempt + 1 });
    deps.telemetry.count('FanoutShards');
  } else {
    countFailed(deps, shard.room, leftovers.length, `still unreachable after ${shard.attempt} continuations`);
  }
  await settleDepartures(deps, result, shard.startedAt);
}

/**
 * What a delivery leaves behind: the other rooms of connections it found gone are cleaned up, and every user
 * who thereby left a room is announced there (those announcements may find more gone connections, and so on;
 * it ends, as each connection is removed, and its departure reported, once).
 */
async function settleDepartures(deps: Deps, result: Pick<DeliveryResult, 'departures' | 'gone'>, nowMs: number): Promise<void> {
  const departures = [...result.departures];
  for (const recipient of result.gone) departures.push(...(await removeConnection(deps.store, recipient, nowMs)).departures);
  for (const departure of departures) await broadcastPresence(deps, departure.room, departure.userId, 'leave', nowMs);
}

/**
 * Posts a frame to the room and resolves once it has been (or, in a large room, is queued to be); returns the
 * work left — the other rooms of connections found gone, and the departures to announce — so a sender can be
 * answered first and that work done after.
 */
export async function deliverToRoom(
  deps: Deps,
  room: string,
  frame: ServerFrame,
  nowMs: number,
  audience: Audience = {},
): Promise<() => Promise<void>> {
  const result = await fanOut(deps, room, frame, nowMs, audience);
  return () => settleDepartures(deps, result, nowMs);
}

/**
 * Fans a frame out and then settles what it found: the other rooms of gone connections and every departure.
 * `delivered` runs once the frame itself has been posted to the room (or queued for it, in a large room),
 * before that.
 */
export async function broadcast(
  deps: Deps,
  room: string,
  frame: ServerFrame,
  nowMs: number,
  audience: Audience = {},
  delivered?: () => Promise<void>,
): Promise<void> {
  const settle = await deliverToRoom(deps, room, frame, nowMs, audience);
  await delivered?.();
  await settle();
}

/** Tells the other users of a room that `userId` arrived or left. */
export async function broadcastPresence(
  deps: Deps,
  room: string,
  userId: string,
  event: PresenceEvent,
  nowMs: number,
): Promise<void> {
  const { frame, audience } = presenceDelivery(room, userId, event);
  await broadcast(deps, room, frame, nowMs, audience);
}

function presenceDelivery(room: string, userId: string, event: PresenceEvent) {
  return { room, frame: presenceFrame(room, userId, event), audience: { exceptUser: userId } };
}
