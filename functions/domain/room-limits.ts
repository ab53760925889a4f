/**
 * Caps on the work one connection or one room can cause: rooms a connection is in (each is a membership every
 * fan-out of that room posts to, and a room its departure cleans up), users in a room (every message and
 * presence change is posted to each of them), and the room size above which typing events are not relayed (a
 * typing event is worth little to hundreds of readers and costs a post to each).
 *
 * The first two are counters kept with single-item conditional writes (DynamoDB Local and dynalite have no
 * transactions, and a transaction would not make a counter exact under TTL deletions either): a connection's
 * rooms on its connection item, a room's users present on one item of the presence table (functions/adapters).
 */
export interface RoomLimits {
  /** Rooms one connection may be in; a join past it is TOO_MANY_ROOMS (env ROOMS_PER_CONNECTION on join). */
  readonly roomsPerConnection: number;
  /** Users a room may hold; a join of one more is ROOM_FULL (env MEMBERS_PER_ROOM on join). */
  readonly membersPerRoom: number;
  /** Typing events are relayed only in rooms of at most this many users (env TYPING_MAX_MEMBERS on typing). */
  readonly typingMaxMembers: number;
}

export const ROOM_LIMIT_BOUNDS = {
  roomsPerConnection: { min: 1, max: 1000 },
  membersPerRoom: { min: 2, max: 100_000 },
  typingMaxMembers: { min: 2, max: 100_000 },
} as const;

/** What a function applies when its stage sets nothing (the stage settings render every one). */
export const ROOM_LIMITS_DEFAULT: RoomLimits = { roomsPerConnection: 50, membersPerRoom: 10_000, typingMaxMembers: 100 };

/** A counter the store keeps on one item: a connection's rooms, or a room's users present. */
export type Counter = { readonly of: 'connection-rooms'; readonly connectionId: string } | { readonly of: 'room-members'; readonly room: string };

/** Whether a typing event in a room of `memberCount` users is relayed to the others. */
export function relaysTyping(memberCount: number, limits: Pick<RoomLimits, 'typingMaxMembers'>): boolean {
  return memberCount <= limits.typingMaxMembers;
}
