import type { ServerFrame } from '../domain/protocol.ts';
import { forEachLimited } from './concurrency.ts';
import { removeConnection } from './connections.ts';
import type { Deps } from './context.ts';

/** Posts in flight at once: enough to hide latency, few enough to stay under the account's callback throttle. */
export const FANOUT_CONCURRENCY = 32;

export interface FanoutResult {
  readonly delivered: number;
  readonly pruned: number;
  readonly failed: number;
}

/**
 * Posts a frame to every live member of a room. A gone connection is pruned; any other failure is counted and
 * logged. Neither fails the caller: the message is already stored and acknowledged.
 */
export async function fanOut(deps: Deps, room: string, frame: ServerFrame, nowMs: number): Promise<FanoutResult> {
  const started = Date.now();
  const members = await deps.store.listMembers(room, nowMs);
  let delivered = 0;
  let pruned = 0;
  let failed = 0;
  await forEachLimited(members, FANOUT_CONCURRENCY, async ({ connectionId }) => {
    try {
      const outcome = await deps.notifier.post(connectionId, frame);
      if (outcome === 'delivered') {
        delivered++;
        return;
      }
      await removeConnection(deps.store, connectionId);
      pruned++;
    } catch (error) {
      failed++;
      deps.telemetry.warn('delivery failed', { room, targetConnectionId: connectionId, error: String(error) });
    }
  });
  deps.telemetry.count('FanoutRecipients', members.length);
  deps.telemetry.count('MessagesDelivered', delivered);
  if (pruned) deps.telemetry.count('StaleConnectionsPruned', pruned);
  if (failed) deps.telemetry.count('DeliveryFailed', failed);
  deps.telemetry.durationMs('FanoutDuration', Date.now() - started);
  return { delivered, pruned, failed };
}
