import { describe, expect, it } from 'vitest';
import {
  connectionExpiresAt,
  connectionRecordExpiresAt,
  IDEMPOTENCY_SECONDS,
  IDLE_CONNECTION_SECONDS,
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

describe('connection item expiry (heartbeat)', () => {
  const connectedAt = Date.UTC(2024, 0, 1, 12, 0, 0);

  it('matches API Gateway’s 10 minute idle timeout', () => {
    expect(IDLE_CONNECTION_SECONDS).toBe(600);
  });

  it('expires 15 minutes (idle timeout + margin) after the client was last seen', () => {
    expect(connectionRecordExpiresAt(connectedAt, connectedAt)).toBe(connectedAt / 1000 + 900);
    const later = connectedAt + 30 * 60 * 1000;
    expect(connectionRecordExpiresAt(connectedAt, later)).toBe(later / 1000 + 900);
  });

  it('moves forward with every later sighting', () => {
    const first = connectionRecordExpiresAt(connectedAt, connectedAt + 60_000);
    const second = connectionRecordExpiresAt(connectedAt, connectedAt + 120_000);
    expect(second - first).toBe(60);
  });

  it('never goes beyond the 2 hour connection maximum plus margin', () => {
    const cap = connectionExpiresAt(connectedAt);
    expect(connectionRecordExpiresAt(connectedAt, connectedAt + MAX_CONNECTION_SECONDS * 1000 - 60_000)).toBe(cap);
    expect(connectionRecordExpiresAt(connectedAt, connectedAt + 10 * MAX_CONNECTION_SECONDS * 1000)).toBe(cap);
    // Just below the cap (2 h + 5 min) the idle rule (last seen + 15 min) still decides.
    const beforeCap = connectedAt + (MAX_CONNECTION_SECONDS + 300 - 900 - 1) * 1000;
    expect(connectionRecordExpiresAt(connectedAt, beforeCap)).toBe(cap - 1);
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
