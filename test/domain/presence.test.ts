import { describe, expect, it } from 'vitest';
import { connectionExpiresAt } from '../../functions/domain/lifetime.ts';
import { isPresent, presenceRecordExpiresAt } from '../../functions/domain/presence.ts';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);
const FUTURE = NOW / 1000 + 60;
const PAST = NOW / 1000 - 1;

describe('isPresent', () => {
  it('is false without a record, or with no connections in it', () => {
    expect(isPresent(undefined, NOW)).toBe(false);
    expect(isPresent({}, NOW)).toBe(false);
    expect(isPresent({ connections: {}, expiresAt: FUTURE }, NOW)).toBe(false);
  });

  it('is true while any connection is live', () => {
    expect(isPresent({ connections: { a: FUTURE }, expiresAt: FUTURE }, NOW)).toBe(true);
    expect(isPresent({ connections: { a: PAST, b: FUTURE }, expiresAt: FUTURE }, NOW)).toBe(true);
  });

  it('ignores connections whose expiry has passed (DynamoDB has not removed them)', () => {
    expect(isPresent({ connections: { a: PAST, b: PAST }, expiresAt: FUTURE }, NOW)).toBe(false);
    expect(isPresent({ connections: { a: NOW / 1000 }, expiresAt: FUTURE }, NOW)).toBe(false);
  });

  it('ignores a whole record whose TTL has passed, whatever it lists', () => {
    expect(isPresent({ connections: { a: FUTURE }, expiresAt: PAST }, NOW)).toBe(false);
  });
});

describe('presenceRecordExpiresAt', () => {
  it('outlives every connection that can be open when it is written', () => {
    const openedJustNow = connectionExpiresAt(NOW);
    const openedEarlier = connectionExpiresAt(NOW - 3_600_000);
    expect(presenceRecordExpiresAt(NOW)).toBeGreaterThanOrEqual(openedJustNow);
    expect(presenceRecordExpiresAt(NOW)).toBeGreaterThan(openedEarlier);
    expect(presenceRecordExpiresAt(NOW)).toBe(openedJustNow);
  });
});
