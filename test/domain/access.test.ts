/** The access rules of private rooms and token scopes, decided without I/O. */
import { describe, expect, it } from 'vitest';
import {
  decideJoin,
  decodeRoomScope,
  encodeRoomScope,
  MAX_ROOM_PATTERNS,
  mayInvite,
  mayRemove,
  parseRoomScope,
  roleIn,
  roomInScope,
  type Role,
  type RoomSettings,
} from '../../functions/domain/access.ts';

const privateRoom: RoomSettings = { visibility: 'private', owner: 'olga' };
const publicRoom: RoomSettings = { visibility: 'public' };

describe('roles', () => {
  it('takes the owner from the room and everyone else from their grant', () => {
    expect(roleIn(privateRoom, 'olga', undefined)).toBe('owner');
    // A stale grant never outranks the room's record.
    expect(roleIn(privateRoom, 'olga', 'member')).toBe('owner');
    expect(roleIn(privateRoom, 'adam', 'admin')).toBe('admin');
    expect(roleIn(privateRoom, 'mia', 'member')).toBe('member');
    expect(roleIn(privateRoom, 'eve', undefined)).toBeUndefined();
  });

  it('gives nobody a role in a public room', () => {
    expect(roleIn(publicRoom, 'olga', 'admin')).toBeUndefined();
  });
});

describe('join', () => {
  it('creates a new room public unless asked for a private one', () => {
    expect(decideJoin(undefined, undefined, undefined)).toEqual({ kind: 'create', visibility: 'public' });
    expect(decideJoin(undefined, 'public', undefined)).toEqual({ kind: 'create', visibility: 'public' });
    expect(decideJoin(undefined, 'private', undefined)).toEqual({ kind: 'create', visibility: 'private' });
  });

  it('lets anyone into a public room, but will not pretend it is private', () => {
    expect(decideJoin(publicRoom, undefined, undefined)).toEqual({ kind: 'enter' });
    expect(decideJoin(publicRoom, 'public', undefined)).toEqual({ kind: 'enter' });
    expect(decideJoin(publicRoom, 'private', undefined)).toEqual({ kind: 'exists-public' });
  });

  it.each<Role>(['owner', 'admin', 'member'])('lets a private room’s %s in, with or without visibility', (role) => {
    expect(decideJoin(privateRoom, undefined, role)).toEqual({ kind: 'enter' });
    expect(decideJoin(privateRoom, 'private', role)).toEqual({ kind: 'enter' });
    expect(decideJoin(privateRoom, 'public', role)).toEqual({ kind: 'enter' });
  });

  it('forbids a private room to anyone without a role, whatever visibility they ask for', () => {
    for (const visibility of [undefined, 'public', 'private'] as const) {
      expect(decideJoin(privateRoom, visibility, undefined)).toEqual({ kind: 'forbidden' });
    }
  });
});

describe('invite', () => {
  it('lets the owner grant member and admin, and demote an admin', () => {
    expect(mayInvite('owner', undefined, 'member')).toBe(true);
    expect(mayInvite('owner', undefined, 'admin')).toBe(true);
    expect(mayInvite('owner', 'member', 'admin')).toBe(true);
    expect(mayInvite('owner', 'admin', 'member')).toBe(true);
  });

  it('lets an admin invite members only, never promote or demote an admin', () => {
    expect(mayInvite('admin', undefined, 'member')).toBe(true);
    expect(mayInvite('admin', 'member', 'member')).toBe(true);
    expect(mayInvite('admin', undefined, 'admin')).toBe(false);
    expect(mayInvite('admin', 'member', 'admin')).toBe(false);
    expect(mayInvite('admin', 'admin', 'member')).toBe(false);
  });

  it('lets members and outsiders invite nobody, and nobody change the owner', () => {
    expect(mayInvite('member', undefined, 'member')).toBe(false);
    expect(mayInvite(undefined, undefined, 'member')).toBe(false);
    expect(mayInvite('owner', 'owner', 'member')).toBe(false);
    expect(mayInvite('admin', 'owner', 'member')).toBe(false);
  });
});

describe('remove', () => {
  it('lets the owner remove anyone but themself', () => {
    expect(mayRemove('owner', 'olga', 'admin', 'adam')).toBe(true);
    expect(mayRemove('owner', 'olga', 'member', 'mia')).toBe(true);
    expect(mayRemove('owner', 'olga', undefined, 'eve')).toBe(true);
    expect(mayRemove('owner', 'olga', 'owner', 'olga')).toBe(false);
  });

  it('lets an admin remove members, not the owner nor another admin', () => {
    expect(mayRemove('admin', 'adam', 'member', 'mia')).toBe(true);
    expect(mayRemove('admin', 'adam', 'admin', 'alma')).toBe(false);
    expect(mayRemove('admin', 'adam', 'owner', 'olga')).toBe(false);
  });

  it('lets admins and members remove themselves, and outsiders nobody', () => {
    expect(mayRemove('admin', 'adam', 'admin', 'adam')).toBe(true);
    expect(mayRemove('member', 'mia', 'member', 'mia')).toBe(true);
    expect(mayRemove('member', 'mia', 'member', 'max')).toBe(false);
    expect(mayRemove(undefined, 'eve', 'member', 'mia')).toBe(false);
    expect(mayRemove(undefined, 'eve', undefined, 'eve')).toBe(false);
  });
});

describe('the rooms claim', () => {
  it('is no scope when absent, and a list of exact names and trailing-* prefixes otherwise', () => {
    expect(parseRoomScope(undefined)).toBeUndefined();
    expect(parseRoomScope(['general', 'team-*', '*'])).toEqual(['general', 'team-*', '*']);
    expect(parseRoomScope([])).toEqual([]);
  });

  it.each([
    ['a string', 'general'],
    ['null', null],
    ['an object', { rooms: ['general'] }],
    ['a non-string pattern', ['general', 7]],
    ['a * inside a pattern', ['te*m']],
    ['two *', ['team-**']],
    ['a name rooms cannot have', ['bad#room']],
    ['a prefix no room can start with', ['-x*']],
    ['too many patterns', Array.from({ length: MAX_ROOM_PATTERNS + 1 }, (_, i) => `r${i}`)],
  ])('is invalid as %s', (_, claim) => {
    expect(parseRoomScope(claim)).toBe('invalid');
  });

  it('matches exact names exactly and prefixes by prefix', () => {
    const scope = ['general', 'team-*'];
    expect(roomInScope(scope, 'general')).toBe(true);
    expect(roomInScope(scope, 'general2')).toBe(false);
    expect(roomInScope(scope, 'team-a')).toBe(true);
    expect(roomInScope(scope, 'team-')).toBe(true);
    expect(roomInScope(scope, 'team')).toBe(false);
    expect(roomInScope(scope, 'teams')).toBe(false);
    expect(roomInScope(['*'], 'anything')).toBe(true);
    expect(roomInScope([], 'general')).toBe(false);
    expect(roomInScope(undefined, 'general')).toBe(true);
  });

  it('travels through the authorizer context as a string and comes back the same', () => {
    const scope = ['general', 'team-*'];
    const encoded = encodeRoomScope(scope);
    expect(typeof encoded).toBe('string');
    expect(decodeRoomScope(encoded)).toEqual(scope);
    expect(decodeRoomScope(encodeRoomScope([]))).toEqual([]);
    expect(decodeRoomScope(undefined)).toBeUndefined();
  });

  it('refuses a context value that is not a scope: a misconfiguration, not an unscoped caller', () => {
    expect(() => decodeRoomScope('{"rooms":1}')).toThrow(/not a room scope/);
    expect(() => decodeRoomScope(42)).toThrow(/not a room scope/);
    expect(() => decodeRoomScope('not json')).toThrow();
  });
});
