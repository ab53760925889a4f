/** History paging rules (docs/protocol.md), independent of how messages are stored. */
import { ChatError } from './errors.ts';
import { fitToBudget, HISTORY_PAGE_BYTES, jsonBytes } from './frame-budget.ts';
import { HISTORY_DEFAULT_LIMIT, type HistoryRequest } from './protocol.ts';
import { isRetained } from './retention.ts';

export interface HistoryQuery {
  /** Ascending pages walk forward from `afterSeq`; descending ones walk back from `beforeSeq` or the newest. */
  readonly direction: 'asc' | 'desc';
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  /** One more than the page size: the extra item only tells whether there is more. */
  readonly fetch: number;
  readonly limit: number;
}

export function planHistoryQuery(req: HistoryRequest): HistoryQuery {
  const limit = req.limit ?? HISTORY_DEFAULT_LIMIT;
  if (req.afterSeq !== undefined && req.beforeSeq !== undefined && req.beforeSeq <= req.afterSeq + 1) {
    throw new ChatError('BAD_REQUEST', 'beforeSeq must be greater than afterSeq + 1');
  }
  return {
    direction: req.afterSeq !== undefined ? 'asc' : 'desc',
    afterSeq: req.afterSeq,
    beforeSeq: req.beforeSeq,
    fetch: limit + 1,
    limit,
  };
}

/** What a page is read against: the reader's clock, and the room's newest seq read before the page's query. */
export interface PageContext {
  readonly nowMs: number;
  /** The room's seq counter, read before the query: every seq up to it was stored before the query ran. */
  readonly newestSeq: number;
}

export interface HistoryPageOf<T> {
  /** Ascending by seq. */
  readonly messages: T[];
  readonly hasMore: boolean;
  /**
   * Ascending pages only: every retained message with afterSeq < seq <= throughSeq is in the page, so any other seq
   * in that range was expired or erased and never comes back (docs/protocol.md#retention).
   */
  readonly throughSeq?: number;
}

/**
 * Trims the look-ahead item, drops expired messages (DynamoDB deletes them days late), cuts the page to
 * HISTORY_PAGE_BYTES (keeping the messages nearest the cursor: the oldest of an ascending page, the newest of a
 * descending one) and returns it ascending by seq. A page cut short says `hasMore`, so the client pages on from
 * its last message. `bytesOf` measures an item as it goes on the wire.
 *
 * An ascending page also says through which seq it is complete. Seqs are allocated as a contiguous prefix (a send
 * writes only the first free slot, functions/app/messages.ts), so once a seq is stored every lower one was stored
 * too: a seq below the page's last, or below the counter read before the query, that the query did not return
 * was deleted (expired or erased), not still being written.
 */
export function toHistoryPage<T extends { seq: number; expiresAt?: number }>(
  query: HistoryQuery,
  items: readonly T[],
  context: PageContext,
  bytesOf: (item: T) => number = jsonBytes,
): HistoryPageOf<T> {
  const requested = items.slice(0, query.limit);
  const lookAhead = items.length > query.limit;
  const retained = requested.filter((item) => isRetained(item, context.nowMs));
  const page = fitToBudget(retained, HISTORY_PAGE_BYTES, bytesOf);
  const cut = page.length < retained.length;
  const hasMore = lookAhead || cut;
  if (query.direction === 'desc') return { messages: page.reverse(), hasMore };
  const lastRead = requested.at(-1)?.seq ?? 0;
  const upTo = query.beforeSeq === undefined ? Number.POSITIVE_INFINITY : query.beforeSeq - 1;
  const complete = cut
    ? (page.at(-1) as T).seq
    : lookAhead
      ? lastRead
      : Math.min(upTo, Math.max(context.newestSeq, lastRead));
  return { messages: page, hasMore, throughSeq: Math.max(complete, query.afterSeq ?? 0) };
}
