/**
 * One authenticated user trying to do more than a chat user should, on the local stack. The flood runs on a copy
 * of the dev plan whose join and leave buckets refill slowly (as an SRE's tfvars-free edit of the Terraform would
 * set them), so what the bucket admits does not depend on how fast this machine answers.
 */
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { useStack } from '../support/local-stack.ts';
import { bootEditedStack, resourceOf } from '../support/plan-copy.ts';
import { ChatClient } from '../support/ws-client.ts';

/** One token every 30 s after a burst of 5: a flood of this test's length gets at most a token or two back. */
const SLOW = { ratePerSecond: 1 / 30, burst: 5 };

const { stack, connect } = useStack(() =>
  bootEditedStack((plan) => {
    for (const route of ['join', 'leave']) {
      const variables = (resourceOf(plan, 'aws_lambda_function', route).environment as { variables: Record<string, string> }).variables;
      variables[ENV.routeRatePerSecond] = String(SLOW.ratePerSecond);
      variables[ENV.routeRateBurst] = String(SLOW.burst);
    }
  }),
);

/** RATE_LIMITED answers to frames of `route` (the message names the route). */
const limitedOn = (client: ChatClient, route: string) =>
  client.ofType('error').filter((f) => f.code === 'RATE_LIMITED' && String(f.message).includes(` ${route} requests `));

describe('a join/leave flood', () => {
  it('is answered with RATE_LIMITED beyond the bucket, and the room hears only what was admitted', { timeout: 240_000 }, async () => {
    const bob = await connect('bob');
    await bob.request({ action: 'join', room: 'flood' }, 'joined');
    const mallory = await connect('mallory');
    const rounds = 24;
    const started = Date.now();
    // In small batches, each answered before the next: a local machine cannot cold-start a worker per frame.
    for (let batch = 0; batch < rounds; batch += 4) {
      const answered = mallory.frames.length + 8;
      for (let i = 0; i < 4; i++) {
        mallory.send({ action: 'join', room: 'flood' });
        mallory.send({ action: 'leave', room: 'flood' });
      }
      await expect.poll(() => mallory.frames.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(answered);
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const joins = mallory.ofType('joined').length;
    const limitedJoins = limitedOn(mallory, 'join');
    // Each join was either admitted or refused with the wait until the next token.
    expect(joins + limitedJoins.length, JSON.stringify(mallory.frames.filter((f) => f.type !== 'joined' && f.type !== 'left' && f.code !== 'RATE_LIMITED'))).toBe(rounds);
    expect(joins).toBeLessThanOrEqual(SLOW.burst + Math.ceil(elapsedSeconds * SLOW.ratePerSecond));
    for (const error of limitedJoins) expect(error).toMatchObject({ retryable: true, retryAfterMs: expect.any(Number) });
    expect(Math.min(...limitedJoins.map((f) => f.retryAfterMs as number))).toBeGreaterThan(0);
    expect(limitedOn(mallory, 'leave').length).toBeGreaterThan(0);
    // Presence frames follow admitted requests only: at most a join and a leave per admitted join.
    await bob.request({ action: 'who', room: 'flood' }, 'who');
    expect(bob.ofType('presence').filter((f) => f.user === 'mallory').length).toBeLessThanOrEqual(2 * joins);
    // The buckets are per connection: another connection of the same user joins at once.
    const malloryTab = await connect('mallory');
    expect((await malloryTab.request({ action: 'join', room: 'flood' }, 'joined')).type).toBe('joined');
  });
});
