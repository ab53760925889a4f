import { describe, expect, it } from 'vitest';
import {
  connectionExpiresAt,
  IDEMPOTENCY_SECONDS,
  isExpired,
  MAX_CONNECTION_SECONDS,
  SEND_LEASE_MS,
} from '../../functions/domain/lifetime.ts';

describe('connection lifetime', () => {
  it('matches API Gateway’s 2 hour connection cap', () => {
    expect(MAX_CONNECTION_SECONDS).toBe(7200);
  });

  it('expires records 2 h + 5 min after the connection opened, in epoch seconds', () => {
    expect(connectionExpiresAt(0)).toBe(7500);
    const connectedAt = Date.UTC(2024, 0, 1, 12, 0, 0);
    expect(connectionExpiresAt(connectedAt)).toBe(connectedAt / 1000 + 7500);
  });

  it('rounds the connection time down to whole seconds', () => {
    expect(connectionExpiresAt(1_999)).toBe(1 + 7500);
    expect(connectionExpiresAt(2_000)).toBe(2 + 7500);
  });

  it('never expires a record while its connection may still be open', () => {
    const connectedAt = 1_700_000_000_123;
    const lastOpenMs = connectedAt + MAX_CONNECTION_SECONDS * 1000;
    expect(isExpired(connectionExpiresAt(connectedAt), lastOpenMs)).toBe(false);
  });
});

describe('isExpired', () => {
  it('is false without an expiry', () => {
    expect(isExpired(undefined, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('is true from the expiry second on, false before it', () => {
    expect(isExpired(100, 99_999)).toBe(false);
    expect(isExpired(100, 100_000)).toBe(true);
    expect(isExpired(100, 100_001)).toBe(true);
  });
});

describe('send idempotency windows', () => {
  it('leases a send for longer than the 29 s integration timeout', () => {
    expect(SEND_LEASE_MS).toBeGreaterThan(29_000);
  });

  it('remembers a clientMsgId for a day', () => {
    expect(IDEMPOTENCY_SECONDS).toBe(86_400);
  });
});
