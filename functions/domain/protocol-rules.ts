/**
 * The protocol's identifiers and bounds (docs/protocol.md). No imports: the client library (client/) shares
 * this module, so browsers and the CLI check the same rules the functions enforce.
 */
export const ROOM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** User ids come from the token's `sub`; the bound keeps them safe as keys and in logs (no '#'). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;
export const MAX_CLIENT_MSG_ID_LENGTH = 128;
/** Counted in Unicode code points, so the bound means the same for every script (4,000 × 4 bytes < 32 KB frames). */
export const MAX_TEXT_CODE_POINTS = 4000;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;
/** A join with `afterSeq` replies with one history page of at most this many messages. */
export const RESUME_HISTORY_LIMIT = HISTORY_MAX_LIMIT;
/** Users listed in one `joined` or `who` frame; `who` with `after` pages through larger rooms. */
export const MEMBER_PAGE_SIZE = 500;
/** At most one typing event per connection and room in this interval; extra ones are dropped. */
export const TYPING_INTERVAL_MS = 2000;

export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
/** Attachments one message may carry. */
export const MAX_ATTACHMENTS = 4;
/** File names are at most this many UTF-8 bytes (S3 metadata and most file systems cope with it). */
export const MAX_FILE_NAME_BYTES = 255;
/** Upload and download ids are v4 UUIDs minted by the service. */
export const ATTACHMENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
