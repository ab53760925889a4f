import { describe, expect, it } from 'vitest';
import { ChatError } from '../../functions/domain/errors.ts';
import { planHistoryQuery, toHistoryPage, type HistoryQuery } from '../../functions/domain/history.ts';
import { HISTORY_PAGE_BYTES, jsonBytes, MAX_FRAME_BYTES } from '../../functions/domain/frame-budget.ts';
import { HISTORY_DEFAULT_LIMIT, MAX_TEXT_CODE_POINTS } from '../../functions/domain/protocol.ts';

const seqs = (...n: number[]) => n.map((seq) => ({ seq }));

describe('planHistoryQuery', () => {
  it('without bounds reads the newest messages, descending, with one look-ahead item', () => {
    expect(planHistoryQuery({ room: 'r' })).toEqual({
      direction: 'desc',
      afterSeq: undefined,
      beforeSeq: undefined,
      limit: HISTORY_DEFAULT_LIMIT,
      fetch: HISTORY_DEFAULT_LIMIT + 1,
    });
    expect(HISTORY_DEFAULT_LIMIT).toBe(50);
  });

  it('with afterSeq walks forward', () => {
    expect(planHistoryQuery({ room: 'r', afterSeq: 0, limit: 10 })).toEqual({
      direction: 'asc',
      afterSeq: 0,
      beforeSeq: undefined,
      limit: 10,
      fetch: 11,
    });
  });

  it('with beforeSeq walks back', () => {
    expect(planHistoryQuery({ room: 'r', beforeSeq: 7, limit: 3 })).toEqual({
      direction: 'desc',
      afterSeq: undefined,
      beforeSeq: 7,
      limit: 3,
      fetch: 4,
    });
  });

  it('with both walks forward inside the window', () => {
    expect(planHistoryQuery({ room: 'r', afterSeq: 3, beforeSeq: 10, limit: 2 })).toMatchObject({
      direction: 'asc',
      afterSeq: 3,
      beforeSeq: 10,
      fetch: 3,
    });
    // The narrowest window that still holds one seq (4).
    expect(planHistoryQuery({ room: 'r', afterSeq: 3, beforeSeq: 5 }).direction).toBe('asc');
  });

  it.each([
    [3, 4],
    [3, 3],
    [10, 2],
  ])('rejects an empty window afterSeq=%i beforeSeq=%i', (afterSeq, beforeSeq) => {
    let thrown: unknown;
    try {
      planHistoryQuery({ room: 'r', afterSeq, beforeSeq });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ChatError);
    expect((thrown as ChatError).code).toBe('BAD_REQUEST');
    expect((thrown as ChatError).message).toBe('beforeSeq must be greater than afterSeq + 1');
  });
});

const AT = { nowMs: 1_000_000_000, newestSeq: 0 };

describe('toHistoryPage', () => {
  const asc = (limit: number): HistoryQuery => ({ direction: 'asc', limit, fetch: limit + 1 });
  const desc = (limit: number): HistoryQuery => ({ direction: 'desc', limit, fetch: limit + 1 });

  it('ascending: trims the look-ahead item and reports more', () => {
    expect(toHistoryPage(asc(3), seqs(4, 5, 6, 7), AT)).toEqual({ messages: seqs(4, 5, 6), hasMore: true, throughSeq: 6 });
  });

  it('ascending: a page of exactly `limit` has no more', () => {
    expect(toHistoryPage(asc(3), seqs(4, 5, 6), AT)).toEqual({ messages: seqs(4, 5, 6), hasMore: false, throughSeq: 6 });
    expect(toHistoryPage(asc(3), seqs(4), AT)).toEqual({ messages: seqs(4), hasMore: false, throughSeq: 4 });
  });

  it('descending: trims the oldest look-ahead item and returns the page ascending', () => {
    expect(toHistoryPage(desc(3), seqs(10, 9, 8, 7), AT)).toEqual({ messages: seqs(8, 9, 10), hasMore: true });
    expect(toHistoryPage(desc(3), seqs(2, 1), AT)).toEqual({ messages: seqs(1, 2), hasMore: false });
  });

  it('an empty result is an empty page', () => {
    expect(toHistoryPage(desc(5), [], AT)).toEqual({ messages: [], hasMore: false });
    expect(toHistoryPage(asc(5), [], AT)).toEqual({ messages: [], hasMore: false, throughSeq: 0 });
  });

  it('does not reorder the caller’s array', () => {
    const items = seqs(10, 9, 8);
    toHistoryPage(desc(5), items, AT);
    expect(items).toEqual(seqs(10, 9, 8));
  });

  it('plans and pages together: limit 2 over seqs 1..5 from the newest', () => {
    const query = planHistoryQuery({ room: 'r', limit: 2 });
    const stored = seqs(5, 4, 3, 2, 1).slice(0, query.fetch);
    expect(toHistoryPage(query, stored, AT)).toEqual({ messages: seqs(4, 5), hasMore: true });
  });
});

describe('toHistoryPage byte budget', () => {
  const message = (seq: number) => ({ room: 'r', seq, id: `id-${seq}`, user: 'u', text: '\u0001'.repeat(MAX_TEXT_CODE_POINTS), ts: 1 });
  const maximal = (...n: number[]) => n.map(message);

  it('cuts an ascending page of maximum-size messages to the budget, keeping the oldest, and says there is more', () => {
    const query = planHistoryQuery({ room: 'r', afterSeq: 0, limit: 100 });
    const page = toHistoryPage(query, maximal(...Array.from({ length: 40 }, (_, i) => i + 1)), AT);
    expect(page.hasMore).toBe(true);
    expect(page.messages[0]?.seq).toBe(1);
    expect(page.messages.length).toBeGreaterThan(1);
    expect(jsonBytes(page.messages)).toBeLessThanOrEqual(HISTORY_PAGE_BYTES);
    expect(jsonBytes({ type: 'history', room: 'r', ...page })).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('cuts a descending page keeping the newest, still ascending', () => {
    const query = planHistoryQuery({ room: 'r', limit: 100 });
    const page = toHistoryPage(query, maximal(...Array.from({ length: 40 }, (_, i) => 40 - i)), AT);
    expect(page.hasMore).toBe(true);
    expect(page.messages.at(-1)?.seq).toBe(40);
    const got = page.messages.map((m) => m.seq);
    expect(got).toEqual([...got].sort((a, b) => a - b));
  });

  it('says there is no more when the whole rest fits', () => {
    const query = planHistoryQuery({ room: 'r', afterSeq: 0, limit: 100 });
    expect(toHistoryPage(query, maximal(1, 2), AT)).toMatchObject({ hasMore: false });
  });

  it('never returns an empty page while a message remains, however small the budget', () => {
    const query = planHistoryQuery({ room: 'r', afterSeq: 0, limit: 10 });
    expect(toHistoryPage(query, seqs(1, 2, 3), AT, () => HISTORY_PAGE_BYTES + 1)).toEqual({ messages: seqs(1), hasMore: true, throughSeq: 1 });
  });
});

describe('toHistoryPage retention', () => {
  const NOW_MS = AT.nowMs;
  const kept = Math.floor(NOW_MS / 1000) + 60;
  const gone = Math.floor(NOW_MS / 1000);
  const stored = (seq: number, expiresAt: number) => ({ seq, expiresAt });
  const after = (afterSeq: number, limit: number, beforeSeq?: number): HistoryQuery => ({
    direction: 'asc',
    afterSeq,
    ...(beforeSeq === undefined ? {} : { beforeSeq }),
    limit,
    fetch: limit + 1,
  });

  it('leaves out messages whose expiry has come, though DynamoDB has not deleted them yet', () => {
    const page = toHistoryPage(after(0, 10), [stored(1, gone), stored(2, gone), stored(3, kept)], { nowMs: NOW_MS, newestSeq: 3 });
    expect(page).toEqual({ messages: [stored(3, kept)], hasMore: false, throughSeq: 3 });
  });

  it('a page of only expired messages with more behind it is complete through the last one it read', () => {
    const page = toHistoryPage(after(0, 2), [stored(1, gone), stored(2, gone), stored(3, kept)], { nowMs: NOW_MS, newestSeq: 3 });
    expect(page).toEqual({ messages: [], hasMore: true, throughSeq: 2 });
  });

  it('a last page is complete through the counter read before it, when the newest messages were deleted', () => {
    expect(toHistoryPage(after(4, 10), [], { nowMs: NOW_MS, newestSeq: 9 })).toEqual({ messages: [], hasMore: false, throughSeq: 9 });
  });

  it('a page bounded by beforeSeq is complete only up to it', () => {
    expect(toHistoryPage(after(4, 10, 8), [], { nowMs: NOW_MS, newestSeq: 20 })).toMatchObject({ throughSeq: 7 });
  });

  it('never claims seqs the counter had not reached, nor goes below the cursor', () => {
    expect(toHistoryPage(after(4, 10, 50), [stored(6, kept)], { nowMs: NOW_MS, newestSeq: 5 })).toMatchObject({ throughSeq: 6 });
    expect(toHistoryPage(after(4, 10), [], { nowMs: NOW_MS, newestSeq: 2 })).toMatchObject({ throughSeq: 4 });
  });

  it('a descending page says nothing about completeness: it does not start at a cursor', () => {
    const page = toHistoryPage({ direction: 'desc', limit: 2, fetch: 3 }, [stored(3, kept), stored(2, gone)], { nowMs: NOW_MS, newestSeq: 3 });
    expect(page).toEqual({ messages: [stored(3, kept)], hasMore: false });
  });
});
