/**
 * API Gateway's idle timeout (10 min) and maximum connection duration (2 h) on the local stack, compressed by the
 * time scale (at 1200: 500 ms and 6 s) and measured on a virtual gateway clock the test moves: however busy the
 * machine, a connection expires exactly when the clock says so, never behind the test's back.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../local/gateway/limits.ts';
import { virtualClock } from '../support/virtual-clock.ts';
import { ChatClient } from '../support/ws-client.ts';
import { bootEditedStack } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';

const { stack } = useStack(() => bootEditedStack(() => undefined, { gatewayClock: clock.now, timeScale: TIME_SCALE }));

const TIME_SCALE = 1200;
const idleMs = LIMITS.idleMs / TIME_SCALE;
const maxConnectionMs = LIMITS.maxConnectionMs / TIME_SCALE;
const clock = virtualClock();

async function connect(user: string): Promise<ChatClient> {
  return ChatClient.connect(stack.wsUrl(await stack.tokenFor(user)));
}

describe('connection lifetime', () => {
  it('closes a connection that sends nothing for the idle timeout with 1001 Going away', async () => {
    const client = await connect('idle');
    clock.advance(idleMs - 1);
    expect(stack.gateway.closeExpiredConnections()).toBe(0);
    clock.advance(1);
    expect(stack.gateway.closeExpiredConnections()).toBe(1);
    expect(await client.closedWith()).toEqual({ code: 1001, reason: 'Going away' });
  });

  it('keeps an active connection past the idle timeout, then closes it at the maximum duration', async () => {
    const client = await connect('busy');
    let elapsed = 0;
    // A frame just before each idle timeout would end the connection keeps it open, up to the maximum duration.
    while (elapsed + idleMs - 1 < maxConnectionMs) {
      clock.advance(idleMs - 1);
      elapsed += idleMs - 1;
      expect(stack.gateway.closeExpiredConnections()).toBe(0);
      // Any answer will do (a pong, or RATE_LIMITED once the route's token bucket is empty): the frame itself is the activity.
      const seen = client.frames.length;
      client.send({ action: 'ping' });
      await client.next((f) => client.frames.indexOf(f) >= seen);
    }
    expect(elapsed).toBeGreaterThan(idleMs);
    clock.advance(maxConnectionMs - 1 - elapsed);
    expect(stack.gateway.closeExpiredConnections()).toBe(0);
    clock.advance(1);
    expect(stack.gateway.closeExpiredConnections()).toBe(1);
    expect(await client.closedWith()).toEqual({ code: 1001, reason: 'Going away' });
  });
});
