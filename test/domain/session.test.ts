import { describe, expect, it } from 'vitest';
import { SESSION_GRACE_SECONDS, sessionEnded } from '../../functions/domain/session.ts';

describe('sessionEnded', () => {
  const exp = 1_700_000_000;
  it('ends a session 5 minutes after its token expired, not before', () => {
    expect(SESSION_GRACE_SECONDS).toBe(300);
    expect(sessionEnded(exp, (exp + SESSION_GRACE_SECONDS) * 1000 - 1)).toBe(false);
    expect(sessionEnded(exp, (exp + SESSION_GRACE_SECONDS) * 1000)).toBe(true);
  });

  it('never ends a session whose token expiry is unknown', () => {
    expect(sessionEnded(undefined, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
