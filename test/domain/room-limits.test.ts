import { describe, expect, it } from 'vitest';
import { ENV, roomLimitsFromEnv } from '../../functions/catalog/env.ts';
import { relaysTyping, ROOM_LIMITS_DEFAULT } from '../../functions/domain/room-limits.ts';

describe('typing cut-off', () => {
  it('relays typing in rooms of at most typingMaxMembers users, and not in larger ones', () => {
    expect(relaysTyping(100, { typingMaxMembers: 100 })).toBe(true);
    expect(relaysTyping(101, { typingMaxMembers: 100 })).toBe(false);
  });
});

describe('roomLimitsFromEnv', () => {
  it('takes the defaults for what the function is not given', () => {
    expect(roomLimitsFromEnv({})).toEqual(ROOM_LIMITS_DEFAULT);
    expect(roomLimitsFromEnv({ [ENV.typingMaxMembers]: '7' })).toEqual({ ...ROOM_LIMITS_DEFAULT, typingMaxMembers: 7 });
  });

  it('reads ROOMS_PER_CONNECTION and MEMBERS_PER_ROOM', () => {
    expect(roomLimitsFromEnv({ [ENV.roomsPerConnection]: '3', [ENV.membersPerRoom]: '2' })).toMatchObject({ roomsPerConnection: 3, membersPerRoom: 2 });
  });

  it.each([
    [{ [ENV.roomsPerConnection]: '0' }, /ROOMS_PER_CONNECTION must be an integer from 1/],
    [{ [ENV.membersPerRoom]: '1' }, /MEMBERS_PER_ROOM must be an integer from 2/],
    [{ [ENV.typingMaxMembers]: 'many' }, /TYPING_MAX_MEMBERS must be an integer/],
  ])('fails the cold start on a bad setting %j', (env, message) => {
    expect(() => roomLimitsFromEnv(env)).toThrow(message);
  });
});
