/** Which holders of a user's full slots a handshake may try to take over, and in which order. */
import { describe, expect, it } from 'vitest';
import { HANDSHAKE_SETTLED_MS, spreadIndex, takeoverCandidates, type SlotHolder } from '../../functions/domain/connection-quota.ts';

const NOW = 1_800_000_000_000;
const holder = (slot: number, ageMs: number, hasItem = true): SlotHolder => ({ slot, connectionId: `held-${slot}`, claimedAt: NOW - ageMs, hasItem });
const slots = (holders: readonly SlotHolder[]) => holders.map((h) => h.slot);

describe('takeoverCandidates', () => {
  it('leaves out holders claimed less than HANDSHAKE_SETTLED_MS ago: they may still be in their handshake', () => {
    const holders = [holder(0, HANDSHAKE_SETTLED_MS), holder(1, HANDSHAKE_SETTLED_MS - 1), holder(2, 10 * 60_000), holder(3, 0)];
    expect(slots(takeoverCandidates(holders, 'new-conn', NOW)).sort()).toEqual([0, 2]);
  });

  it('offers none when every holder is still settling, or there are none', () => {
    expect(takeoverCandidates([holder(0, 1000), holder(1, 29_999)], 'new-conn', NOW)).toEqual([]);
    expect(takeoverCandidates([], 'new-conn', NOW)).toEqual([]);
  });

  it('offers holders without a connection item first, whatever their age (they left; nothing to ask)', () => {
    const holders = [holder(0, 60_000), holder(1, 0, false), holder(2, 1000), holder(3, 60_000, false)];
    const order = slots(takeoverCandidates(holders, 'new-conn', NOW));
    expect(order.slice(0, 2).sort()).toEqual([1, 3]);
    expect(order.slice(2)).toEqual([0]);
  });

  it('offers every settled holder once, starting where the new connection id points', () => {
    const holders = Array.from({ length: 10 }, (_, slot) => holder(slot, 60_000));
    const start = spreadIndex('conn-a', 10);
    expect(slots(takeoverCandidates(holders, 'conn-a', NOW))).toEqual([...Array(10).keys()].map((i) => (start + i) % 10));
  });

  it('spreads racing reconnects of one user over different first holders', () => {
    const holders = Array.from({ length: 10 }, (_, slot) => holder(slot, 60_000));
    const firsts = new Set(Array.from({ length: 10 }, (_, i) => takeoverCandidates(holders, `conn-${i}`, NOW)[0]?.slot));
    expect(firsts.size).toBeGreaterThan(3);
  });
});
