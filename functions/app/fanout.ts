import { presenceFrame, type PresenceEvent, type ServerFrame } from '../domain/protocol.ts';
import { forEachLimited } from './concurrency.ts';
import type { Deps } from './context.ts';
import { removeConnection, type Departure } from './departures.ts';


/** Who in the room gets a frame: everyone, or everyone but one user's connections (presence, typing). */
export interface Audience {
  readonly exceptUser?: string;
}

export interface FanoutResult {
  readonly delivered: number;
  readonly pruned: number;
  readonly failed: number;
  /** Users whose last connection in a room was among the pruned ones. */
  readonly departures: Departure[];
}

/**
 * Posts a frame to every live member of a room in the audience. A gone connection is pruned; any other failure
 * is counted and logged. Neither fails the caller: a message is already stored and acknowledged.
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
  let delivered = 0;
  let pruned = 0;
  let failed = 0;
  const departures: Departure[] = [];
  await forEachLimited(members, deps.fanoutConcurrency, async (member) => {
    try {
      const outcome = await deps.notifier.post(member.connectionId, frame);
      if (outcome === 'delivered') {
        delivered++;
        return;
      }
      const removal = await removeConnection(deps.store, member, nowMs, [room]);
      departures.push(...removal.departures);
      // Concurrent fan-outs may all find the same connection gone; it is counted by the one that removed it.
      if (removal.removed) pruned++;
    } catch (error) {
      failed++;
      deps.telemetry.warn('delivery failed', { room, targetConnectionId: member.connectionId, error: String(error) });
    }
  });
  // Message metrics stay about messages; presence and typing frames are counted apart.
  if (frame.type === 'message') {
    deps.telemetry.count('FanoutRecipients', members.length);
    deps.telemetry.count('MessagesDelivered', delivered);
    deps.telemetry.durationMs('FanoutDuration', Date.now() - started);
  } else if (delivered) {
    deps.telemetry.count('EventsDelivered', delivered);
  }
  if (pruned) deps.telemetry.count('StaleConnectionsPruned', pruned);
  if (failed) deps.telemetry.count('DeliveryFailed', failed);
  return { delivered, pruned, failed, departures };
}

/**
 * Fans a frame out and then announces every departure it caused (connections found gone), and those the
 * announcements cause in turn. It ends: each connection is pruned, and its departure reported, only once.
 * `delivered` runs once the frame itself has been posted to the room, before the departures are announced.
 */
export async function broadcast(
  deps: Deps,
  room: string,
  frame: ServerFrame,
  nowMs: number,
  audience: Audience = {},
  delivered?: () => Promise<void>,
): Promise<void> {
  const pending = [{ room, frame, audience }];
  for (let next = pending.shift(), first = true; next; next = pending.shift(), first = false) {
    const { departures } = await fanOut(deps, next.room, next.frame, nowMs, next.audience);
    if (first) await delivered?.();
    pending.push(...departures.map((d) => presenceDelivery(d.room, d.userId, 'leave')));
  }
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
