import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../client/backoff.ts';
import { RoomSequencer } from '../../client/sequencer.ts';
import type { MessageView } from '../../functions/domain/protocol.ts';

const m = (seq: number): MessageView => ({ room: 'r', seq, id: `id-${seq}`, user: 'u', text: `t${seq}`, ts: seq });
const seqs = (messages: readonly MessageView[]) => messages.map((x) => x.seq);

describe('RoomSequencer', () => {
  it('holds messages until the starting point is known, then delivers those after it in order', () => {
    const s = new RoomSequencer();
    expect(s.accept([m(7), m(5), m(6)])).toEqual([]);
    expect(s.lastDelivered).toBeUndefined();
    expect(seqs(s.start(5))).toEqual([6, 7]);
    expect(s.lastDelivered).toBe(7);
  });

  it('sets the starting point only once', () => {
    const s = new RoomSequencer();
    s.start(3);
    expect(s.start(0)).toEqual([]);
    expect(seqs(s.accept([m(4)]))).toEqual([4]);
  });

  it('delivers in seq order whatever the arrival order, each seq once', () => {
    const s = new RoomSequencer();
    s.start(0);
    expect(seqs(s.accept([m(2)]))).toEqual([]);
    expect(seqs(s.accept([m(3), m(2)]))).toEqual([]);
    expect(seqs(s.accept([m(1)]))).toEqual([1, 2, 3]);
    expect(s.accept([m(1), m(2), m(3)])).toEqual([]);
    expect(seqs(s.accept([m(4), m(4)]))).toEqual([4]);
  });

  it('skips seqs a complete page lacks (expired or erased) and delivers the rest in order', () => {
    const s = new RoomSequencer();
    s.start(0);
    s.knowsOf(9);
    // A page complete through 6 holding 4 and 6: 1-3 expired, 5 erased.
    expect(seqs(s.accept([m(4), m(6)]))).toEqual([]);
    expect(seqs(s.completeThrough(6))).toEqual([4, 6]);
    expect(s.lastDelivered).toBe(6);
    expect(s.isBehind()).toBe(true);
    // A live message that arrived beyond the page is delivered once the page's range is passed.
    expect(seqs(s.accept([m(8)]))).toEqual([]);
    expect(seqs(s.completeThrough(7))).toEqual([8]);
    expect(s.isBehind()).toBe(true);
    expect(seqs(s.accept([m(9)]))).toEqual([9]);
    expect(s.isBehind()).toBe(false);
  });

  it('a complete page behind the cursor changes nothing, and one before the start only records the seq', () => {
    const s = new RoomSequencer();
    expect(s.completeThrough(5)).toEqual([]);
    expect(s.lastDelivered).toBeUndefined();
    s.start(3);
    expect(s.isBehind()).toBe(true);
    expect(s.completeThrough(2)).toEqual([]);
    expect(s.lastDelivered).toBe(3);
  });

  it('is behind while a gap is open or a seq is known that has not arrived', () => {
    const s = new RoomSequencer();
    expect(s.isBehind()).toBe(false);
    s.start(0);
    s.accept([m(2)]);
    expect(s.isBehind()).toBe(true);
    s.accept([m(1)]);
    expect(s.isBehind()).toBe(false);
    s.knowsOf(3);
    expect(s.isBehind()).toBe(true);
    s.accept([m(3)]);
    expect(s.isBehind()).toBe(false);
  });

  it('is not behind for seqs at or below the starting point', () => {
    const s = new RoomSequencer();
    s.knowsOf(10);
    s.start(10);
    expect(s.isBehind()).toBe(false);
    expect(s.accept([m(9), m(10)])).toEqual([]);
  });
});

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1000 };

  it('doubles the cap each attempt up to maxMs', () => {
    const top = (attempt: number) => backoffDelay(attempt, options, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10, 50].map(top)).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it('is jittered over [0, cap): never negative, never the cap', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(2, options, Math.random);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(400);
    }
  });
});
