import { describe, expect, it } from 'vitest';
import { fitToBudget, jsonBytes, MAX_FRAME_BYTES, memberPage } from '../../functions/domain/frame-budget.ts';
import { MEMBER_PAGE_SIZE, USER_ID_PATTERN } from '../../functions/domain/protocol-rules.ts';

describe('jsonBytes', () => {
  it('counts UTF-8 bytes of the JSON, escapes included', () => {
    expect(jsonBytes('a')).toBe(3);
    expect(jsonBytes('😀')).toBe(6);
    expect(jsonBytes('\u0001')).toBe(8);
  });
});

describe('fitToBudget', () => {
  it('keeps the longest prefix whose JSON array fits', () => {
    // ["aa","bb"] is 11 bytes; ["aa","bb","cc"] is 16.
    expect(fitToBudget(['aa', 'bb', 'cc'], 11)).toEqual(['aa', 'bb']);
    expect(fitToBudget(['aa', 'bb', 'cc'], 16)).toEqual(['aa', 'bb', 'cc']);
    expect(fitToBudget(['aa', 'bb', 'cc'], 15)).toEqual(['aa', 'bb']);
  });

  it('keeps one item even when it alone is over the budget, and none of none', () => {
    expect(fitToBudget(['toolong'], 3)).toEqual(['toolong']);
    expect(fitToBudget([], 3)).toEqual([]);
  });
});

describe('memberPage', () => {
  const longest = (i: number) => `u${String(i).padStart(5, '0')}${'x'.repeat(122)}`;

  it('lists every user once, sorted, with the count', () => {
    expect(memberPage(['bob', 'alice', 'bob'])).toEqual({ members: ['alice', 'bob'], memberCount: 2, hasMore: false });
  });

  it('caps a page at MEMBER_PAGE_SIZE users and pages on after the last one', () => {
    const users = Array.from({ length: MEMBER_PAGE_SIZE + 7 }, (_, i) => longest(i));
    const first = memberPage(users);
    expect(first).toMatchObject({ memberCount: MEMBER_PAGE_SIZE + 7, hasMore: true });
    expect(first.members).toHaveLength(MEMBER_PAGE_SIZE);
    const second = memberPage(users, first.members.at(-1));
    expect(second).toEqual({ members: users.slice(MEMBER_PAGE_SIZE), memberCount: MEMBER_PAGE_SIZE + 7, hasMore: false });
  });

  it('keeps a full page of the longest user ids under the frame limit', () => {
    const users = Array.from({ length: MEMBER_PAGE_SIZE + 1 }, (_, i) => longest(i));
    expect(USER_ID_PATTERN.test(users[0] as string) && (users[0] as string).length).toBe(128);
    const frame = { type: 'who', room: 'r'.repeat(64), ...memberPage(users), after: users[0] };
    expect(jsonBytes(frame)).toBeLessThan(MAX_FRAME_BYTES);
  });
});
