/**
 * Who may enter a room and who may change who may (docs/protocol.md#private-rooms). Pure: every rule is
 * decided here from records the use cases read, and unit-tested without I/O.
 */
import { ROOM_PATTERN } from './protocol-rules.ts';

export type Visibility = 'public' | 'private';
export type Role = 'owner' | 'admin' | 'member';
/** The roles `invite` can give: ownership is fixed when the room is created. */
export type GrantedRole = Exclude<Role, 'owner'>;

/** The room's creation record: fixed once written (the first creator wins a conditional write). */
export interface RoomSettings {
  readonly visibility: Visibility;
  /** The user who created a private room; public rooms have none. */
  readonly owner?: string;
}

/**
 * The caller's role in a room: the owner from the room's record (so an owner needs no second item that a crash
 * between two writes could lose), anyone else from their grant. Undefined: no role (not invited).
 */
export function roleIn(settings: RoomSettings, userId: string, granted: GrantedRole | undefined): Role | undefined {
  if (settings.visibility !== 'private') return undefined;
  if (settings.owner === userId) return 'owner';
  return granted;
}

export type JoinDecision =
  /** No room of that name yet: the caller creates it with this visibility (and owns it when private). */
  | { readonly kind: 'create'; readonly visibility: Visibility }
  | { readonly kind: 'enter' }
  /** A private room the caller was not invited to: FORBIDDEN, worded as for a room outside the token's scope. */
  | { readonly kind: 'forbidden' }
  /** `visibility: "private"` asked of a room that exists and is public: the caller must not believe it private. */
  | { readonly kind: 'exists-public' };

/**
 * Decides a join from the room's record (undefined: no such room) and the caller's role. A join without
 * `visibility` takes the room as it is (public when new); `visibility: "private"` creates a private room, enters
 * one the caller may enter, and refuses a public one instead of joining it silently.
 */
export function decideJoin(
  existing: RoomSettings | undefined,
  requested: Visibility | undefined,
  role: Role | undefined,
): JoinDecision {
  if (!existing) return { kind: 'create', visibility: requested ?? 'public' };
  if (existing.visibility === 'public') return requested === 'private' ? { kind: 'exists-public' } : { kind: 'enter' };
  return role ? { kind: 'enter' } : { kind: 'forbidden' };
}

/**
 * The owner invites members and admins and may turn an admin back into a member; an admin invites members
 * only, and cannot demote another admin. Nobody invites the owner (ownership never moves).
 */
export function mayInvite(actor: Role | undefined, target: Role | undefined, granted: GrantedRole): boolean {
  if (target === 'owner') return false;
  if (actor === 'owner') return true;
  if (actor === 'admin') return granted === 'member' && target !== 'admin';
  return false;
}

/**
 * The owner removes anyone but themself (a room always has its owner); an admin removes members (not the
 * owner, not other admins); anyone but the owner may remove themself, giving up their access.
 */
export function mayRemove(actor: Role | undefined, actorId: string, target: Role | undefined, targetId: string): boolean {
  if (target === 'owner') return false;
  if (actor === undefined) return false;
  if (actorId === targetId) return true;
  if (actor === 'owner') return true;
  return actor === 'admin' && target !== 'admin';
}

/**
 * A token's `rooms` claim: room names, each either exact or ending in one `*` that matches any rest (`team-*`
 * matches `team-a` and `team-`; `*` alone matches every room). Nothing else is special, so a pattern is a
 * room name with an optional trailing `*`.
 */
export type RoomScope = readonly string[];

/** Most patterns a token may carry: the scope travels in the authorizer context on every request. */
export const MAX_ROOM_PATTERNS = 50;

const PATTERN_PREFIX = /^(|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/;

function validPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string') return false;
  if (pattern.endsWith('*')) return PATTERN_PREFIX.test(pattern.slice(0, -1));
  return ROOM_PATTERN.test(pattern);
}

/**
 * Reads the `rooms` claim: undefined when the token has none (no scope), the patterns when it is a valid list,
 * `'invalid'` otherwise — a token whose scope cannot be read must not get in unscoped.
 */
export function parseRoomScope(claim: unknown): RoomScope | undefined | 'invalid' {
  if (claim === undefined) return undefined;
  if (!Array.isArray(claim) || claim.length > MAX_ROOM_PATTERNS || !claim.every(validPattern)) return 'invalid';
  return [...claim];
}

export function roomInScope(scope: RoomScope | undefined, room: string): boolean {
  if (scope === undefined) return true;
  return scope.some((pattern) => (pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : room === pattern));
}

/** API Gateway passes only string, number and boolean context values: the scope travels as a JSON string. */
export function encodeRoomScope(scope: RoomScope): string {
  return JSON.stringify(scope);
}

/** Reads the scope back from the authorizer context; a value that is not one (a misconfiguration) throws. */
export function decodeRoomScope(value: unknown): RoomScope | undefined {
  if (value === undefined) return undefined;
  const scope = typeof value === 'string' ? parseRoomScope(JSON.parse(value) as unknown) : 'invalid';
  if (scope === 'invalid' || scope === undefined) throw new Error('requestContext.authorizer.rooms is not a room scope');
  return scope;
}
