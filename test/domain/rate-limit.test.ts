import { describe, expect, it } from 'vitest';
import { ENV, SEND_RATE_DEFAULT, sendRateLimitFromEnv } from '../../functions/catalog/env.ts';
import { isWindowFull, retryAfterMs, windowEndedBy, type SendRateLimit } from '../../functions/domain/rate-limit.ts';

const limit: SendRateLimit = { maxSends: 20, windowMs: 10_000 };
const NOW = 1_700_000_000_000;

describe('send rate window', () => {
  it('treats a window opened windowMs ago or earlier as ended', () => {
    expect(windowEndedBy(limit, NOW)).toBe(NOW - 10_000);
    expect(isWindowFull(limit, { start: NOW - 10_000, count: 20 }, NOW)).toBe(false);
    expect(isWindowFull(limit, { start: NOW - 9_999, count: 20 }, NOW)).toBe(true);
  });

  it('is full once it admitted maxSends', () => {
    expect(isWindowFull(limit, { start: NOW - 1, count: 19 }, NOW)).toBe(false);
    expect(isWindowFull(limit, { start: NOW - 1, count: 20 }, NOW)).toBe(true);
    expect(isWindowFull(limit, { start: NOW - 1, count: 25 }, NOW)).toBe(true);
  });

  it('asks a refused sender to wait until the window ends', () => {
    expect(retryAfterMs(limit, NOW - 4_000, NOW)).toBe(6_000);
    expect(retryAfterMs(limit, NOW, NOW)).toBe(10_000);
  });

  it('never answers a wait of zero or less (clocks of two instances may disagree)', () => {
    expect(retryAfterMs(limit, NOW - 10_000, NOW)).toBe(1);
    expect(retryAfterMs(limit, NOW - 60_000, NOW)).toBe(1);
  });
});

describe('sendRateLimitFromEnv', () => {
  it('defaults to 20 sends per 10 seconds', () => {
    expect(SEND_RATE_DEFAULT).toEqual({ maxSends: 20, windowMs: 10_000 });
    expect(sendRateLimitFromEnv({})).toEqual(SEND_RATE_DEFAULT);
    expect(sendRateLimitFromEnv({ [ENV.sendRateLimit]: '', [ENV.sendRateWindowMs]: '' })).toEqual(SEND_RATE_DEFAULT);
  });

  it('reads SEND_RATE_LIMIT and SEND_RATE_WINDOW_MS', () => {
    expect(ENV.sendRateLimit).toBe('SEND_RATE_LIMIT');
    expect(ENV.sendRateWindowMs).toBe('SEND_RATE_WINDOW_MS');
    expect(sendRateLimitFromEnv({ SEND_RATE_LIMIT: '5', SEND_RATE_WINDOW_MS: '60000' })).toEqual({
      maxSends: 5,
      windowMs: 60_000,
    });
    expect(sendRateLimitFromEnv({ SEND_RATE_LIMIT: '50' })).toEqual({ maxSends: 50, windowMs: 10_000 });
  });

  it.each([
    ['SEND_RATE_LIMIT', '0', 'from 1 to 10000'],
    ['SEND_RATE_LIMIT', '10001', 'from 1 to 10000'],
    ['SEND_RATE_LIMIT', '-3', 'from 1 to 10000'],
    ['SEND_RATE_LIMIT', '2.5', 'from 1 to 10000'],
    ['SEND_RATE_LIMIT', 'twenty', 'from 1 to 10000'],
    ['SEND_RATE_LIMIT', ' 20', 'from 1 to 10000'],
    ['SEND_RATE_WINDOW_MS', '999', 'from 1000 to 3600000'],
    ['SEND_RATE_WINDOW_MS', '3600001', 'from 1000 to 3600000'],
    ['SEND_RATE_WINDOW_MS', '1e4', 'from 1000 to 3600000'],
  ])('refuses %s=%j, naming the variable and the range', (name, value, range) => {
    expect(() => sendRateLimitFromEnv({ [name]: value })).toThrow(
      `Environment variable ${name} must be an integer ${range}, got "${value}"`,
    );
  });
});
