import { describe, expect, it } from 'vitest';
import { ENV, messageRetentionSecondsFromEnv } from '../../functions/catalog/env.ts';
import {
  isRetained,
  MESSAGE_RETENTION_SECONDS_DEFAULT,
  messageExpiresAt,
  retentionSecondsOfDays,
} from '../../functions/domain/retention.ts';

describe('message retention', () => {
  it('expires a message the retention after its send, to the second', () => {
    expect(messageExpiresAt(1_000_999, 60)).toBe(1_000 + 60);
    expect(retentionSecondsOfDays(7)).toBe(604_800);
  });

  it('keeps a message until its expiry, and one stored before messages had an expiry', () => {
    expect(isRetained({ expiresAt: 100 }, 99_999)).toBe(true);
    expect(isRetained({ expiresAt: 100 }, 100_000)).toBe(false);
    expect(isRetained({}, Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});

describe('messageRetentionSecondsFromEnv', () => {
  it('reads MESSAGE_RETENTION_SECONDS, the dev week when unset', () => {
    expect(messageRetentionSecondsFromEnv({})).toBe(MESSAGE_RETENTION_SECONDS_DEFAULT);
    expect(MESSAGE_RETENTION_SECONDS_DEFAULT).toBe(retentionSecondsOfDays(7));
    expect(messageRetentionSecondsFromEnv({ [ENV.messageRetentionSeconds]: '60' })).toBe(60);
  });

  it.each([['0'], ['1.5'], ['a week'], [String(retentionSecondsOfDays(3651))]])('fails the cold start on %j', (value) => {
    expect(() => messageRetentionSecondsFromEnv({ [ENV.messageRetentionSeconds]: value })).toThrow(/MESSAGE_RETENTION_SECONDS must be an integer from 1 to 315360000/);
  });
});
