/** who, typing, resuming a join after a seq, and the heartbeat, against the real store on dynalite. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeat, openConnection } from '../../functions/app/connections.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { sendMessage } from '../../functions/app/messages.ts';
import { joinRoom, listRoomMembers, signalTyping } from '../../functions/app/rooms.ts';
import type { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import { connectionRecordExpiresAt } from '../../functions/domain/lifetime.ts';
import { jsonBytes, MAX_FRAME_BYTES } from '../../functions/domain/frame-budget.ts';
import { MEMBER_PAGE_SIZE, TYPING_INTERVAL_MS } from '../../functions/domain/protocol-rules.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, member, type RecordingTelemetry, rejection } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let store: DynamoChatStore;
let telemetry: RecordingTelemetry;

beforeAll(async () => {
  dynamo = await startDynamo('rooms');
  // Generous rate limit: these tests fill rooms with messages from one connection.
  ({ deps, store, telemetry } = makeDeps(dynamo, undefined, { maxSends: 1000, windowMs: 10_000 }));
});

afterAll(async () => {
  await dynamo?.close();
});

/** A caller of the same connection `ms` later. */
const later = (c: Caller, ms: number): Caller => ({ ...again(c), nowMs: c.nowMs + ms });

describe('who', () => {
  it('lists the users present, sorted, each once however many connections they have', async () => {
    const room = freshRoom();
    const carol = await member(deps, room, 'carol');
    await member(deps, room, 'alice');
    await member(deps, room, 'alice');
    await member(deps, room, 'bob');
    await member(deps, freshRoom('other'), 'dave');
    expect(await listRoomMembers(deps, again(carol), { room })).toEqual({ members: ['alice', 'bob', 'carol'], memberCount: 3, hasMore: false });
  });

  it('leaves out memberships whose expiry has passed', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    await store.putMembership({ room, connectionId: 'stale', userId: 'zed', joinedAt: 0, expiresAt: 1 });
    expect(await listRoomMembers(deps, again(alice), { room })).toEqual({ members: ['alice'], memberCount: 1, hasMore: false });
  });

  it('refuses a connection that has not joined the room', async () => {
    const room = freshRoom();
    await member(deps, room, 'alice');
    const error = await rejection(listRoomMembers(deps, caller('mallory'), { room }));
    expect(error).toMatchObject({ code: 'NOT_A_MEMBER', retryable: false, message: `join room ${room} first` });
  });
});

describe('typing', () => {
  it('relays the first signal and drops others from the same connection for 2 s', async () => {
    const room = freshRoom();
    const alice = again(await member(deps, room, 'alice'));
    const dropped = telemetry.total('TypingDropped');
    expect(TYPING_INTERVAL_MS).toBe(2000);
    expect(await signalTyping(deps, alice, { room })).toBe(true);
    expect(await signalTyping(deps, later(alice, 500), { room })).toBe(false);
    expect(await signalTyping(deps, later(alice, 1999), { room })).toBe(false);
    expect(telemetry.total('TypingDropped')).toBe(dropped + 2);
    expect(await signalTyping(deps, later(alice, 2000), { room })).toBe(true);
  });

  it('limits each connection on its own, so two tabs of a user each signal', async () => {
    const room = freshRoom();
    const tab1 = await member(deps, room, 'alice');
    const tab2 = await member(deps, room, 'alice');
    expect(await signalTyping(deps, again(tab1), { room })).toBe(true);
    expect(await signalTyping(deps, again(tab2), { room })).toBe(true);
  });

  it('admits exactly one of concurrent signals', async () => {
    const room = freshRoom();
    const alice = await member(deps, room, 'alice');
    const results = await Promise.all(Array.from({ length: 6 }, () => signalTyping(deps, again(alice), { room })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a non-member (or an expired member) without creating a membership', async () => {
    const room = freshRoom();
    const outsider = caller('mallory');
    expect((await rejection(signalTyping(deps, outsider, { room }))).code).toBe('NOT_A_MEMBER');
    expect(await store.getMembership(room, outsider.connectionId, Date.now())).toBeUndefined();
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: dynamo.tableNames.memberships, Key: { room, connectionId: outsider.connectionId } }),
    );
    expect(Item).toBeUndefined();

    const stale = caller('zed');
    await store.putMembership({ room, connectionId: stale.connectionId, userId: 'zed', joinedAt: 0, expiresAt: 1 });
    expect((await rejection(signalTyping(deps, stale, { room }))).code).toBe('NOT_A_MEMBER');
  });
});

describe('join with afterSeq', () => {
  async function roomWith(count: number): Promise<{ room: string; sender: Caller }> {
    const room = freshRoom('resume');
    const sender = await member(deps, room, 'alice');
    for (let i = 1; i <= count; i++) {
      await sendMessage(deps, again(sender), { room, text: `message ${i}`, clientMsgId: `m${i}` });
    }
    return { room, sender };
  }

  it('returns the messages after the given seq, oldest first', async () => {
    const { room } = await roomWith(5);
    const { joined, resumed } = await joinRoom(deps, caller('bob'), { room, afterSeq: 2 });
    expect(joined).toEqual({ room, lastSeq: 5, members: ['alice', 'bob'], memberCount: 2 });
    expect(resumed?.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(resumed?.messages[0]).toMatchObject({ room, seq: 3, user: 'alice', text: 'message 3' });
    expect(resumed?.hasMore).toBe(false);
  });

  it('returns an empty page when nothing is new (or the seq is beyond the room)', async () => {
    const { room } = await roomWith(2);
    expect((await joinRoom(deps, caller('bob'), { room, afterSeq: 2 })).resumed).toEqual({ room, messages: [], hasMore: false, throughSeq: 2 });
    // Complete through the cursor itself: the range after it holds nothing.
    expect((await joinRoom(deps, caller('bob'), { room, afterSeq: 99 })).resumed).toEqual({ room, messages: [], hasMore: false, throughSeq: 99 });
  });

  it('returns at most 100 messages and says when more remain', async () => {
    const { room } = await roomWith(103);
    const { resumed } = await joinRoom(deps, caller('bob'), { room, afterSeq: 1 });
    expect(resumed?.messages).toHaveLength(100);
    expect(resumed?.messages.at(0)?.seq).toBe(2);
    expect(resumed?.messages.at(-1)?.seq).toBe(101);
    expect(resumed?.hasMore).toBe(true);
    const rest = await joinRoom(deps, caller('bob'), { room, afterSeq: 101 });
    expect(rest.resumed?.messages.map((m) => m.seq)).toEqual([102, 103]);
    expect(rest.resumed?.hasMore).toBe(false);
  });

  it('resumes from the start with afterSeq 0, and returns no page without afterSeq', async () => {
    const { room } = await roomWith(2);
    expect((await joinRoom(deps, caller('bob'), { room, afterSeq: 0 })).resumed?.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect((await joinRoom(deps, caller('bob'), { room })).resumed).toBeUndefined();
  });
});

describe('heartbeat', () => {
  it('refreshes lastSeen and extends the connection item expiry', async () => {
    const alice = caller('alice');
    await openConnection(deps, alice);
    const read = async () =>
      (
        await dynamo.client.send(
          new GetCommand({ TableName: dynamo.tableNames.connections, Key: { connectionId: alice.connectionId }, ConsistentRead: true }),
        )
      ).Item;
    expect(await read()).toMatchObject({ lastSeen: alice.connectedAt, expiresAt: connectionRecordExpiresAt(alice.connectedAt, alice.connectedAt) });
    const ping = later(alice, 5 * 60 * 1000);
    await heartbeat(deps, ping);
    expect(await read()).toMatchObject({
      userId: 'alice',
      lastSeen: ping.nowMs,
      expiresAt: connectionRecordExpiresAt(alice.connectedAt, ping.nowMs),
    });
  });
});

describe('member lists of a crowded room', () => {
  it('lists the first MEMBER_PAGE_SIZE users in joined with the count, and who pages through the rest', async () => {
    const room = freshRoom('crowd');
    // The longest user ids there are (128 characters): the worst case for the frame's size.
    const users = Array.from({ length: MEMBER_PAGE_SIZE + 20 }, (_, i) => `u${String(i).padStart(5, '0')}${'x'.repeat(122)}`);
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    for (const userId of users) await store.putMembership({ room, connectionId: `c-${userId.slice(0, 6)}`, userId, joinedAt: 0, expiresAt });
    const zed = caller('zed');
    const { joined } = await joinRoom(deps, zed, { room });
    expect(joined.memberCount).toBe(users.length + 1);
    expect(joined.members).toEqual(users.slice(0, MEMBER_PAGE_SIZE));
    expect(jsonBytes({ type: 'joined', ...joined })).toBeLessThan(MAX_FRAME_BYTES);

    const first = await listRoomMembers(deps, again(zed), { room });
    expect(first).toEqual({ members: users.slice(0, MEMBER_PAGE_SIZE), memberCount: users.length + 1, hasMore: true });
    const second = await listRoomMembers(deps, again(zed), { room, after: first.members.at(-1) });
    expect(second).toEqual({ members: [...users.slice(MEMBER_PAGE_SIZE), 'zed'], memberCount: users.length + 1, hasMore: false });
  }, 60_000);
});
