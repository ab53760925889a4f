/**
 * What fits in one frame the service posts. API Gateway delivers a WebSocket message of at most 128 KB; a
 * larger `@connections` post is refused with 413 and the client would get nothing. Replies that grow with the
 * data (history pages, member lists) are therefore cut to budgets well under it, and anything still too large
 * is replaced by an error frame (functions/runtime/ws-handler.ts). Pure.
 */
import { uniqueUsers } from './protocol.ts';
import { MEMBER_PAGE_SIZE } from './protocol-rules.ts';

/** API Gateway's WebSocket message payload limit (also what `@connections` accepts in one post). */
export const MAX_FRAME_BYTES = 128 * 1024;

/**
 * Bytes of messages one history page carries. Half the frame limit leaves room for the envelope, and a single
 * message (at most 4,000 code points, ~24 KB of JSON when every one is escaped) always fits, so a page is never
 * empty while messages remain.
 */
export const HISTORY_PAGE_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** UTF-8 size of a value serialized as the service serializes frames. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/**
 * The longest prefix of `items` whose JSON array fits in `budgetBytes`, and never fewer than one item (a single
 * item always fits by the bounds above), so a reader always makes progress.
 */
export function fitToBudget<T>(items: readonly T[], budgetBytes: number, bytesOf: (item: T) => number = jsonBytes): T[] {
  let used = 2; // the array's brackets
  let count = 0;
  for (const item of items) {
    // A comma separates every item after the first.
    used += bytesOf(item) + (count > 0 ? 1 : 0);
    if (used > budgetBytes && count > 0) break;
    count++;
  }
  return items.slice(0, count);
}

export interface MemberPage {
  /** Sorted user ids after the cursor, at most MEMBER_PAGE_SIZE of them. */
  readonly members: string[];
  /** Users present in the room, all pages together. */
  readonly memberCount: number;
  /** More users follow the last one listed: ask again with it as `after`. */
  readonly hasMore: boolean;
}

/**
 * One page of a room's users, each once however many connections they have. User ids are at most 128 characters
 * that JSON never escapes, so MEMBER_PAGE_SIZE of them stay near 64 KB whatever the room.
 */
export function memberPage(userIds: Iterable<string>, after?: string): MemberPage {
  const users = uniqueUsers(userIds);
  const rest = after === undefined ? users : users.filter((u) => u > after);
  return { members: rest.slice(0, MEMBER_PAGE_SIZE), memberCount: users.length, hasMore: rest.length > MEMBER_PAGE_SIZE };
}
