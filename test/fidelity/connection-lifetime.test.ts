/**
 * API Gateway's idle timeout (10 min) and maximum connection duration (2 h) on the local stack, compressed by
 * the time scale: at 1200, idle is 500 ms and the maximum 6 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../local/gateway/limits.ts';
import { ChatClient, sleep } from '../support/ws-client.ts';
import { bootEditedStack, type EditedStack } from './plan-copy.ts';

const TIME_SCALE = 1200;
let stack: EditedStack;

beforeAll(async () => {
  stack = await bootEditedStack(() => undefined, { timeScale: TIME_SCALE });
});

afterAll(async () => {
  await stack?.close();
});

async function connect(user: string): Promise<ChatClient> {
  return ChatClient.connect(stack.wsUrl(await stack.tokenFor(user)));
}

describe('connection lifetime', () => {
  it('closes a connection that sends nothing for the idle timeout with 1001 Going away', async () => {
    const client = await connect('idle');
    const opened = Date.now();
    const closed = await client.closedWith(5_000);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(LIMITS.idleMs / TIME_SCALE - 20);
    expect(Date.now() - opened).toBeLessThan(LIMITS.maxConnectionMs / TIME_SCALE);
  });

  it('keeps an active connection past the idle timeout, then closes it at the maximum duration', async () => {
    // A warm ping function answers within the idle timeout; a cold start on this busy machine might not.
    const warmUp = await connect('warm-up');
    await warmUp.request({ action: 'ping' }, 'pong');
    await warmUp.close();
    const client = await connect('busy');
    const opened = Date.now();
    let closedAt = 0;
    const closing = client.closedWith(10_000).then((closed) => ((closedAt = Date.now()), closed));
    let pongs = 0;
    while (!client.closed) {
      const answer = await Promise.race([client.request({ action: 'ping' }, 'pong'), closing]);
      if (answer && 'type' in answer) pongs++;
      await sleep(50);
    }
    const elapsed = closedAt - opened;
    const maxMs = LIMITS.maxConnectionMs / TIME_SCALE;
    expect(client.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(elapsed).toBeGreaterThanOrEqual(maxMs - 20);
    expect(elapsed).toBeLessThan(maxMs + 1500);
    expect(pongs).toBeGreaterThan(LIMITS.maxConnectionMs / LIMITS.idleMs);
  });
});
