/** History paging rules (docs/protocol.md), independent of how messages are stored. */
import { ChatError } from './errors.ts';
import { fitToBudget, HISTORY_PAGE_BYTES, jsonBytes } from './frame-budget.ts';
import { HISTORY_DEFAULT_LIMIT, type HistoryRequest } from './protocol.ts';

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

/**
 * Trims the look-ahead item, cuts the page to HISTORY_PAGE_BYTES (keeping the messages nearest the cursor: the
 * oldest of an ascending page, the newest of a descending one) and returns it ascending by seq. A page cut short
 * says `hasMore`, so the client pages on from its last message. Items are the views as they go on the wire.
 */
export function toHistoryPage<T extends { seq: number }>(
  query: HistoryQuery,
  items: readonly T[],
  bytesOf: (item: T) => number = jsonBytes,
): { messages: T[]; hasMore: boolean } {
  const requested = items.slice(0, query.limit);
  const page = fitToBudget(requested, HISTORY_PAGE_BYTES, bytesOf);
  const hasMore = items.length > query.limit || page.length < requested.length;
  if (query.direction === 'desc') page.reverse();
  return { messages: page, hasMore };
}
