/** The per-connection send rate limit, and how it meets idempotent retries. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../functions/app/context.ts';
import { idempotencyKey, sendMessage } from '../../functions/app/messages.ts';
import { chargeSend } from '../../functions/app/rate-limit.ts';
import { SEND_RATE_DEFAULT } from '../../functions/catalog/env.ts';
import { SEND_LEASE_MS } from '../../functions/domain/lifetime.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, member, rejection } from './harness.ts';

let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startDynamo('ratelimit');
});

afterAll(async () => {
  await dynamo?.close();
});

/** The same connection at a fixed instant `ms` after `base` (so window arithmetic is exact). */
const at = (base: Caller, ms: number): Caller => ({ ...again(base), nowMs: base.nowMs + ms });

async function claimExists(room: string, userId: string, clientMsgId: string): Promise<boolean> {
  const { Item } = await dynamo.client.send(
    new GetCommand({
      TableName: dynamo.tableNames.idempotency,
      Key: { key: idempotencyKey(room, userId, clientMsgId) },
      ConsistentRead: true,
    }),
  );
  return Item !== undefined;
}

describe('chargeSend', () => {
  it('admits maxSends in a window, then refuses with the wait until the window ends', async () => {
    const { deps } = makeDeps(dynamo, undefined, { maxSends: 3, windowMs: 10_000 });
    const alice = caller('alice');
    for (let i = 0; i < 3; i++) expect(await chargeSend(deps, at(alice, i * 1000))).toEqual({ allowed: true });
    expect(await chargeSend(deps, at(alice, 4_000))).toEqual({ allowed: false, retryAfterMs: 6_000 });
    expect(await chargeSend(deps, at(alice, 9_999))).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(await chargeSend(deps, at(alice, 10_000))).toEqual({ allowed: true });
  });

  it('does not count refused sends: the next window starts fresh', async () => {
    const { deps } = makeDeps(dynamo, undefined, { maxSends: 2, windowMs: 5_000 });
    const alice = caller('alice');
    await chargeSend(deps, at(alice, 0));
    await chargeSend(deps, at(alice, 1));
    for (let i = 0; i < 5; i++) expect((await chargeSend(deps, at(alice, 100 + i))).allowed).toBe(false);
    expect(await chargeSend(deps, at(alice, 5_000))).toEqual({ allowed: true });
    expect(await chargeSend(deps, at(alice, 5_001))).toEqual({ allowed: true });
    expect((await chargeSend(deps, at(alice, 5_002))).allowed).toBe(false);
  });

  it('keeps a window per connection, not per user', async () => {
    const { deps } = makeDeps(dynamo, undefined, { maxSends: 1, windowMs: 10_000 });
    const tab1 = caller('alice');
    const tab2 = caller('alice');
    expect((await chargeSend(deps, tab1)).allowed).toBe(true);
    expect((await chargeSend(deps, again(tab1))).allowed).toBe(false);
    expect((await chargeSend(deps, tab2)).allowed).toBe(true);
  });

  it('admits exactly maxSends of concurrent sends racing to open the window', async () => {
    const { deps } = makeDeps(dynamo, undefined, SEND_RATE_DEFAULT);
    const alice = caller('alice');
    const results = await Promise.all(Array.from({ length: 30 }, () => chargeSend(deps, at(alice, 0))));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(results.filter((r) => !r.allowed)).toEqual(Array(10).fill({ allowed: false, retryAfterMs: 10_000 }));
  });
});

describe('sendMessage under the rate limit', () => {
  const limit = { maxSends: 2, windowMs: 10_000 };

  it('refuses the send over the limit with RATE_LIMITED, retryable, storing nothing', async () => {
    const { deps, store, telemetry } = makeDeps(dynamo, undefined, limit);
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    await sendMessage(deps, at(alice, 0), { room, text: 'one', clientMsgId: 'c1' });
    await sendMessage(deps, at(alice, 1_000), { room, text: 'two', clientMsgId: 'c2' });

    const error = await rejection(sendMessage(deps, at(alice, 2_500), { room, text: 'three', clientMsgId: 'c3' }));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(7_500);
    expect(error.message).toBe('at most 2 sends per 10000 ms on one connection; retry in 7500 ms');
    expect(await store.lastSeq(room)).toBe(2);
    expect(telemetry.total('RateLimited')).toBe(1);
    // The claim was released, so a retry after the window is a fresh send, not IN_PROGRESS.
    expect(await claimExists(room, 'alice', 'c3')).toBe(false);
    const retried = await sendMessage(deps, at(alice, 10_000), { room, text: 'three', clientMsgId: 'c3' });
    expect(retried).toMatchObject({ replay: false, message: { seq: 3, clientMsgId: 'c3' } });
  });

  it('answers a replayed clientMsgId with its ack even when the window is full, without counting it', async () => {
    const { deps, telemetry } = makeDeps(dynamo, undefined, limit);
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const first = await sendMessage(deps, at(alice, 0), { room, text: 'one', clientMsgId: 'c1' });
    await sendMessage(deps, at(alice, 1), { room, text: 'two', clientMsgId: 'c2' });
    for (let i = 0; i < 3; i++) {
      const replay = await sendMessage(deps, at(alice, 10 + i), { room, text: 'one', clientMsgId: 'c1' });
      expect(replay).toEqual({ message: first.message, replay: true, fannedOut: false });
    }
    expect(telemetry.total('RateLimited')).toBe(0);
    // The replays used none of the next window either.
    await sendMessage(deps, at(alice, 10_000), { room, text: 'three', clientMsgId: 'c3' });
    await sendMessage(deps, at(alice, 10_001), { room, text: 'four', clientMsgId: 'c4' });
  });

  it('does not charge again when taking over a claim whose owner died (it was charged when claimed)', async () => {
    const { deps, store } = makeDeps(dynamo, undefined, limit);
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    await sendMessage(deps, at(alice, 0), { room, text: 'one', clientMsgId: 'c1' });
    await sendMessage(deps, at(alice, 1), { room, text: 'two', clientMsgId: 'c2' });
    // An earlier request claimed c3 (and was charged), then died before writing.
    await store.claimSend(
      { key: idempotencyKey(room, 'alice', 'c3'), seq: 3, owner: 'dead', leaseUntil: alice.nowMs, expiresAt: 2_000_000_000 },
      alice.nowMs,
    );
    const outcome = await sendMessage(deps, at(alice, SEND_LEASE_MS / 10), { room, text: 'three', clientMsgId: 'c3' });
    expect(outcome).toMatchObject({ replay: false, message: { seq: 3 } });
  });

  it('checks membership before the rate limit: a non-member is NOT_A_MEMBER and uses no quota', async () => {
    const { deps } = makeDeps(dynamo, undefined, { maxSends: 1, windowMs: 10_000 });
    const room = freshRoom();
    const outsider = caller('mallory');
    expect((await rejection(sendMessage(deps, outsider, { room, text: 'x', clientMsgId: 'c1' }))).code).toBe('NOT_A_MEMBER');
    expect((await chargeSend(deps, again(outsider))).allowed).toBe(true);
  });
});
