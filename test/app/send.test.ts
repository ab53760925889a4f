import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import type { Deps } from '../../functions/app/context.ts';
import { idempotencyKey, sendAndDeliver, sendMessage, type SendOutcome } from '../../functions/app/messages.ts';
import type { SendClaim, StoredMessage } from '../../functions/app/ports.ts';
import { ChatError } from '../../functions/domain/errors.ts';
import { IDEMPOTENCY_SECONDS, SEND_LEASE_MS } from '../../functions/domain/lifetime.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, member, RecordingNotifier, type RecordingTelemetry, rejection } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let store: DynamoChatStore;
let telemetry: RecordingTelemetry;

beforeAll(async () => {
  dynamo = await startDynamo('send');
  ({ deps, store, telemetry } = makeDeps(dynamo));
});

afterAll(async () => {
  await dynamo?.close();
});

async function allMessages(room: string): Promise<StoredMessage[]> {
  return store.queryMessages(room, { direction: 'asc', limit: 1000 });
}

async function claimOf(key: string): Promise<SendClaim | undefined> {
  const { Item } = await dynamo.client.send(
    new GetCommand({ TableName: dynamo.tableNames.idempotency, Key: { key }, ConsistentRead: true }),
  );
  return Item as SendClaim | undefined;
}

const seqsOf = (items: { seq: number }[]) => items.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** An expiry no test outlives. */
const FAR_FUTURE_S = Math.floor(Date.now() / 1000) + 24 * 60 * 60;

describe('sendMessage', () => {
  it('refuses a connection that has not joined the room, storing nothing', async () => {
    const room = freshRoom();
    const outsider = caller('mallory');
    const error = await rejection(sendMessage(deps, outsider, { room, text: 'hi', clientMsgId: 'm1' }));
    expect(error.code).toBe('NOT_A_MEMBER');
    expect(error.retryable).toBe(false);
    expect(await store.lastSeq(room)).toBe(0);
    expect(await claimOf(idempotencyKey(room, 'mallory', 'm1'))).toBeUndefined();
  });

  it('refuses a member of another room, and one whose membership expired', async () => {
    const room = freshRoom();
    const elsewhere = await member(deps, freshRoom('other'), 'bob');
    expect((await rejection(sendMessage(deps, elsewhere, { room, text: 'x', clientMsgId: 'a' }))).code).toBe(
      'NOT_A_MEMBER',
    );

    const stale = caller('carol');
    await store.putMembership({
      room,
      connectionId: stale.connectionId,
      userId: 'carol',
      joinedAt: 0,
      expiresAt: Math.floor(stale.nowMs / 1000) - 1,
    });
    expect((await rejection(sendMessage(deps, stale, { room, text: 'x', clientMsgId: 'a' }))).code).toBe('NOT_A_MEMBER');
    expect(await store.lastSeq(room)).toBe(0);
  });

  it('numbers messages 1, 2, … and stores them with the sender and clientMsgId', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const received = telemetry.total('MessagesReceived');
    const bytes = telemetry.total('MessagePayloadBytes');

    const first = await sendMessage(deps, alice, { room, text: 'héllo', clientMsgId: 'a-1' });
    const second = await sendMessage(deps, again(alice), { room, text: 'again', clientMsgId: 'a-2' });

    expect(first.replay).toBe(false);
    expect(first.message).toMatchObject({ room, seq: 1, user: 'alice', text: 'héllo', clientMsgId: 'a-1', ts: alice.nowMs });
    expect(second.message.seq).toBe(2);
    expect(second.message.id).not.toBe(first.message.id);
    expect(await store.getMessage(room, 1)).toEqual(first.message);
    expect(await store.getMessage(room, 2)).toEqual(second.message);
    expect(await store.readSeqHint(room)).toBe(2);
    expect(telemetry.total('MessagesReceived') - received).toBe(2);
    expect(telemetry.total('MessagePayloadBytes') - bytes).toBe(Buffer.byteLength('héllo') + Buffer.byteLength('again'));
  });

  it('records a claim that points at the stored seq and expires after the idempotency window', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const { message } = await sendMessage(deps, alice, { room, text: 'x', clientMsgId: 'claimed' });
    expect(await claimOf(idempotencyKey(room, 'alice', 'claimed'))).toEqual({
      key: idempotencyKey(room, 'alice', 'claimed'),
      seq: message.seq,
      owner: alice.requestId,
      leaseUntil: alice.nowMs + SEND_LEASE_MS,
      expiresAt: Math.floor(alice.nowMs / 1000) + IDEMPOTENCY_SECONDS,
    });
  });

  it('replays a repeated clientMsgId: same seq and id, nothing new stored', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const original = await sendMessage(deps, alice, { room, text: 'once', clientMsgId: 'dup' });
    const replays = telemetry.total('IdempotentReplay');
    const received = telemetry.total('MessagesReceived');

    // The retry may even carry different text: the stored message wins.
    const retry = await sendMessage(deps, again(alice), { room, text: 'changed', clientMsgId: 'dup' });

    expect(retry).toEqual({ message: original.message, replay: true, fannedOut: false });
    expect(await allMessages(room)).toEqual([original.message]);
    expect(telemetry.total('IdempotentReplay') - replays).toBe(1);
    expect(telemetry.total('MessagesReceived') - received).toBe(0);
  });

  it('remembers a completed fan-out, so only a retry of a send whose fan-out failed fans it out again', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const original = await sendMessage(deps, alice, { room, text: 'deliver me', clientMsgId: 'fo' });
    expect(original.fannedOut).toBe(false);
    expect((await sendMessage(deps, again(alice), { room, text: 'deliver me', clientMsgId: 'fo' })).fannedOut).toBe(false);
    await store.markFannedOut(idempotencyKey(room, 'alice', 'fo'));
    expect(await sendMessage(deps, again(alice), { room, text: 'deliver me', clientMsgId: 'fo' })).toEqual({ ...original, replay: true, fannedOut: true });
  });

  it('replays for the same user on another connection, but not for another user with the same clientMsgId', async () => {
    const room = freshRoom();
    const aliceA = await member(deps, room, 'alice');
    const aliceB = await member(deps, room, 'alice');
    const bob = await member(deps, room, 'bob');
    const original = await sendMessage(deps, aliceA, { room, text: 'x', clientMsgId: 'same' });
    const fromOtherConnection = await sendMessage(deps, aliceB, { room, text: 'x', clientMsgId: 'same' });
    const fromBob = await sendMessage(deps, bob, { room, text: 'x', clientMsgId: 'same' });

    expect(fromOtherConnection.replay).toBe(true);
    expect(fromOtherConnection.message.id).toBe(original.message.id);
    expect(fromBob.replay).toBe(false);
    expect(fromBob.message).toMatchObject({ seq: 2, user: 'bob' });
    expect(seqsOf(await allMessages(room))).toEqual([1, 2]);
  });

  it('gives 20 concurrent senders the contiguous seqs 1..20 without duplicates', async () => {
    const room = freshRoom('busy');
    const senders = await Promise.all(range(1, 20).map((i) => member(deps, room, `user-${i}`)));
    const outcomes = await Promise.all(
      senders.map((s, i) => sendMessage(deps, again(s), { room, text: `msg ${i}`, clientMsgId: `c-${i}` })),
    );

    expect(outcomes.every((o) => !o.replay)).toBe(true);
    expect(seqsOf(outcomes.map((o) => o.message)).sort((a, b) => a - b)).toEqual(range(1, 20));
    const stored = await allMessages(room);
    expect(seqsOf(stored)).toEqual(range(1, 20));
    expect(new Set(stored.map((m) => m.user)).size).toBe(20);
    // Each sender's ack names the message actually stored at that seq.
    for (const { message } of outcomes) expect(stored[message.seq - 1]).toEqual(message);
    expect(await store.readSeqHint(room)).toBe(20);
    // And each claim ends up pointing at its own message.
    for (const { message } of outcomes) {
      expect((await claimOf(idempotencyKey(room, message.user, message.clientMsgId)))?.seq).toBe(message.seq);
    }
  });

  it('keeps seqs contiguous when one sender sends many messages concurrently', async () => {
    const room = freshRoom('burst');
    const alice = await member(deps, room, 'alice');
    const outcomes = await Promise.all(
      range(1, 15).map((i) => sendMessage(deps, again(alice), { room, text: `m${i}`, clientMsgId: `burst-${i}` })),
    );
    expect(seqsOf(outcomes.map((o) => o.message)).sort((a, b) => a - b)).toEqual(range(1, 15));
    expect(seqsOf(await allMessages(room))).toEqual(range(1, 15));
  });

  it('stores a concurrently duplicated clientMsgId exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const room = freshRoom(`race${round}`);
      const alice = await member(deps, room, 'alice');
      const bob = await member(deps, room, 'bob');
      const req = { room, text: 'only once', clientMsgId: 'racy' };
      // Another sender in the same room so slots are contended too.
      const [a, b] = await Promise.allSettled([
        sendMessage(deps, again(alice), req),
        sendMessage(deps, again(alice), req),
        sendMessage(deps, again(bob), { room, text: 'bob', clientMsgId: 'b' }),
      ]);

      const stored = (await allMessages(room)).filter((m) => m.user === 'alice');
      expect(stored).toHaveLength(1);
      const [storedMessage] = stored;

      const fulfilled = [a, b].filter((r): r is PromiseFulfilledResult<SendOutcome> => r.status === 'fulfilled');
      const rejected = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      // Exactly one request stored it; the other replayed it or was told to retry.
      expect(fulfilled.filter((r) => !r.value.replay)).toHaveLength(1);
      for (const r of fulfilled) expect(r.value.message).toEqual(storedMessage);
      for (const r of rejected) {
        expect(r.reason).toBeInstanceOf(ChatError);
        expect(r.reason).toMatchObject({ code: 'IN_PROGRESS', retryable: true });
      }

      const retry = await sendMessage(deps, again(alice), req);
      expect(retry).toEqual({ message: storedMessage, replay: true, fannedOut: false });
      expect(seqsOf(await allMessages(room))).toEqual([1, 2]);
    }
  });

  describe('when the request that claimed a clientMsgId crashed', () => {
    /** Writes the claim a crashed request leaves behind: it claimed `seq` and never wrote (or did). */
    async function crashedClaim(room: string, userId: string, clientMsgId: string, seq: number, leaseUntil: number) {
      const claim: SendClaim = {
        key: idempotencyKey(room, userId, clientMsgId),
        seq,
        owner: 'crashed-request',
        leaseUntil,
        expiresAt: Math.floor(Date.now() / 1000) + IDEMPOTENCY_SECONDS,
      };
      expect(await store.claimSend(claim, Date.now())).toBeUndefined();
      return claim;
    }

    it('a retry after the lease takes over and stores the message at the claimed seq', async () => {
      const room = freshRoom('crash');
      const alice = await member(deps, room, 'alice');
      const claim = await crashedClaim(room, 'alice', 'lost', 1, Date.now() - 1);

      const retry = again(alice);
      const outcome = await sendMessage(deps, retry, { room, text: 'recovered', clientMsgId: 'lost' });

      expect(outcome.replay).toBe(false);
      expect(outcome.message).toMatchObject({ seq: 1, text: 'recovered', user: 'alice' });
      expect(await allMessages(room)).toEqual([outcome.message]);
      expect(await claimOf(claim.key)).toMatchObject({ owner: retry.requestId, seq: 1, leaseUntil: retry.nowMs + SEND_LEASE_MS });
      // A further retry replays it.
      expect((await sendMessage(deps, again(alice), { room, text: 'recovered', clientMsgId: 'lost' })).replay).toBe(true);
    });

    it('a retry while the lease is live is told to retry, and nothing is stored', async () => {
      const room = freshRoom('live');
      const alice = await member(deps, room, 'alice');
      const claim = await crashedClaim(room, 'alice', 'busy', 1, Date.now() + SEND_LEASE_MS);

      const error = await rejection(sendMessage(deps, again(alice), { room, text: 'x', clientMsgId: 'busy' }));
      expect(error).toMatchObject({ code: 'IN_PROGRESS', retryable: true });
      expect(await allMessages(room)).toEqual([]);
      expect(await claimOf(claim.key)).toEqual(claim);
    });

    it('if another sender took the claimed slot meanwhile, the takeover moves to the next free seq', async () => {
      const room = freshRoom('moved');
      const alice = await member(deps, room, 'alice');
      const bob = await member(deps, room, 'bob');
      const claim = await crashedClaim(room, 'alice', 'late', 1, Date.now() - 1);
      const bobs = await sendMessage(deps, bob, { room, text: 'bob first', clientMsgId: 'b1' });
      expect(bobs.message.seq).toBe(1);

      const outcome = await sendMessage(deps, again(alice), { room, text: 'alice', clientMsgId: 'late' });
      expect(outcome).toMatchObject({ replay: false, message: { seq: 2, user: 'alice' } });
      expect(seqsOf(await allMessages(room))).toEqual([1, 2]);
      expect((await claimOf(claim.key))?.seq).toBe(2);
    });

    it('if the crashed request had stored the message, the retry replays it', async () => {
      const room = freshRoom('stored');
      const alice = await member(deps, room, 'alice');
      await crashedClaim(room, 'alice', 'done', 1, Date.now() - 1);
      const written: StoredMessage = { room, seq: 1, id: 'orig-id', user: 'alice', text: 't', ts: 1, clientMsgId: 'done', expiresAt: FAR_FUTURE_S };
      expect(await store.putMessageIfAbsent(written)).toBe(true);

      expect(await sendMessage(deps, again(alice), { room, text: 't', clientMsgId: 'done' })).toEqual({
        message: written,
        replay: true,
        fannedOut: false,
      });
      expect(await allMessages(room)).toEqual([written]);
    });
  });

  describe('with a counter hint behind the messages table', () => {
    async function seedWithoutHint(room: string, count: number) {
      for (let seq = 1; seq <= count; seq++) {
        const m: StoredMessage = { room, seq, id: `seed-${seq}`, user: 'seed', text: 's', ts: seq, clientMsgId: `s${seq}`, expiresAt: FAR_FUTURE_S };
        expect(await store.putMessageIfAbsent(m)).toBe(true);
      }
    }

    it('continues right after the highest stored seq', async () => {
      const room = freshRoom('stale');
      await seedWithoutHint(room, 5);
      await store.advanceSeqHint(room, 2);
      const alice = await member(deps, room, 'alice');

      const first = await sendMessage(deps, alice, { room, text: 'x', clientMsgId: 'x1' });
      const second = await sendMessage(deps, again(alice), { room, text: 'y', clientMsgId: 'x2' });
      expect([first.message.seq, second.message.seq]).toEqual([6, 7]);
      expect(seqsOf(await allMessages(room))).toEqual(range(1, 7));
      expect(await store.readSeqHint(room)).toBe(7);
    });

    it('stays contiguous under concurrency with no hint at all', async () => {
      const room = freshRoom('nohint');
      await seedWithoutHint(room, 8);
      expect(await store.readSeqHint(room)).toBe(0);
      const senders = await Promise.all(range(1, 10).map((i) => member(deps, room, `u${i}`)));
      const outcomes = await Promise.all(
        senders.map((s, i) => sendMessage(deps, again(s), { room, text: 't', clientMsgId: `k${i}` })),
      );
      expect(seqsOf(outcomes.map((o) => o.message)).sort((a, b) => a - b)).toEqual(range(9, 18));
      expect(seqsOf(await allMessages(room))).toEqual(range(1, 18));
    });
  });

  it('builds idempotency keys from room, user and clientMsgId', () => {
    expect(idempotencyKey('r1', 'alice', 'm')).toBe('r1#alice#m');
    // Room and user ids cannot contain '#', so the first two separators delimit them even if clientMsgId has '#'.
    const key = idempotencyKey('r1', 'alice', 'm#x#y');
    const [roomPart, userPart] = key.split('#');
    expect([roomPart, userPart, key.slice(`${roomPart}#${userPart}#`.length)]).toEqual(['r1', 'alice', 'm#x#y']);
  });
});

describe('sendAndDeliver', () => {
  it('fans a new message out to the room, records the fan-out, and does not fan a retry out again', async () => {
    const notifier = new RecordingNotifier();
    const { deps: delivering } = makeDeps(dynamo, notifier);
    const room = freshRoom();
    const alice = await member(delivering, room, 'alice');
    const bob = await member(delivering, room, 'bob');
    notifier.clear();

    const { message } = await sendAndDeliver(delivering, alice, { room, text: 'hi', clientMsgId: 'd1' });
    expect(notifier.ofType('message').map((p) => p.connectionId).sort()).toEqual([alice.connectionId, bob.connectionId].sort());
    expect((await claimOf(idempotencyKey(room, 'alice', 'd1')))?.fannedOut).toBe(true);

    notifier.clear();
    expect(await sendAndDeliver(delivering, again(alice), { room, text: 'hi', clientMsgId: 'd1' })).toEqual({ message });
    expect(notifier.posts).toEqual([]);
  });

  it('fans out a replay whose earlier fan-out never happened', async () => {
    const notifier = new RecordingNotifier();
    const { deps: delivering } = makeDeps(dynamo, notifier);
    const room = freshRoom();
    const alice = await member(delivering, room, 'alice');
    // Stored by a request whose fan-out then failed: the claim does not say fannedOut.
    const stored = await sendMessage(delivering, alice, { room, text: 'late', clientMsgId: 'd2' });
    notifier.clear();

    expect((await sendAndDeliver(delivering, again(alice), { room, text: 'late', clientMsgId: 'd2' })).message).toEqual(stored.message);
    expect(notifier.ofType('message').map((p) => p.frame.seq)).toEqual([stored.message.seq]);
    expect((await claimOf(idempotencyKey(room, 'alice', 'd2')))?.fannedOut).toBe(true);
  });

  it('still resolves, with a warning, when the fan-out cannot be recorded', async () => {
    const room = freshRoom();
    const key = idempotencyKey(room, 'alice', 'd3');
    // The claim vanishes while the message is being delivered, so recording the fan-out fails its condition.
    const notifier = new RecordingNotifier();
    const deleting = {
      async post(connectionId: string, frame: Parameters<RecordingNotifier['post']>[1]) {
        if (frame.type === 'message') await dynamo.client.send(new DeleteCommand({ TableName: dynamo.tableNames.idempotency, Key: { key } }));
        return notifier.post(connectionId, frame);
      },
      disconnect: (connectionId: string) => notifier.disconnect(connectionId),
      isOpen: (connectionId: string) => notifier.isOpen(connectionId),
    };
    const { deps: delivering, telemetry: recorded } = makeDeps(dynamo, deleting);
    const alice = await member(delivering, room, 'alice');

    const { message } = await sendAndDeliver(delivering, alice, { room, text: 'hi', clientMsgId: 'd3' });
    expect(notifier.ofType('message').map((p) => p.frame.id)).toEqual([message.id]);
    expect(recorded.warnings).toEqual([{ message: 'could not record the fan-out', details: { error: expect.stringMatching(/ConditionalCheckFailed/) } }]);
  });
});

describe('sendAndDeliver counts the sends the service failed (the send-availability SLO)', () => {
  it('counts SendsFailed when DynamoDB cannot be reached, and rethrows', async () => {
    const unreachable = await startDynamo('send-unreachable');
    const { deps: failing, telemetry: recorded } = makeDeps(unreachable);
    const room = freshRoom();
    const alice = await member(failing, room, 'alice');
    await unreachable.close();

    await expect(sendAndDeliver(failing, alice, { room, text: 'lost', clientMsgId: 'f1' })).rejects.toThrow();
    expect(recorded.total('SendsFailed')).toBe(1);
  });

  it('does not count a refused send (not a member) nor an acknowledged one', async () => {
    const { deps: counting, telemetry: recorded } = makeDeps(dynamo);
    const room = freshRoom();
    const alice = await member(counting, room, 'alice');
    await sendAndDeliver(counting, alice, { room, text: 'hi', clientMsgId: 'f2' });
    expect((await rejection(sendAndDeliver(counting, caller('mallory'), { room, text: 'hi', clientMsgId: 'f3' }))).code).toBe('NOT_A_MEMBER');
    expect(recorded.total('MessagesReceived')).toBe(1);
    expect(recorded.total('SendsFailed')).toBe(0);
  });
});
