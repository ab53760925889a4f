import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import type { Membership, SendClaim, StoredMessage } from '../../functions/app/ports.ts';
import { TABLES } from '../../functions/catalog/tables.ts';
import { connectionRecordExpiresAt } from '../../functions/domain/lifetime.ts';
import { presenceRecordExpiresAt } from '../../functions/domain/presence.ts';
import { BACKENDS, startDynamo, type TestDynamo } from '../support/dynamo.ts';

const NOW = Date.now();
const FUTURE_S = Math.floor(NOW / 1000) + 3600;
const PAST_S = Math.floor(NOW / 1000) - 60;

/** A room name no other test uses. */
const freshRoom = (label = 'r') => `${label}-${randomUUID().slice(0, 8)}`;

function membership(room: string, connectionId: string, over: Partial<Membership> = {}): Membership {
  return { room, connectionId, userId: `u-${connectionId}`, joinedAt: NOW, expiresAt: FUTURE_S, ...over };
}

function message(room: string, seq: number, over: Partial<StoredMessage> = {}): StoredMessage {
  return { room, seq, id: `id-${seq}`, user: 'alice', text: `text ${seq}`, ts: NOW + seq, clientMsgId: `c-${seq}`, expiresAt: FUTURE_S, ...over };
}

// The same contract on both emulators: whatever one accepts and the other refuses is a finding, not noise.
for (const backend of BACKENDS) describe(`on ${backend.name}`, () => {
  let dynamo: TestDynamo;
  let store: DynamoChatStore;

  beforeAll(async () => {
    dynamo = await startDynamo('store', backend);
    store = new DynamoChatStore(dynamo.client, dynamo.tableNames);
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  async function rawGet(table: keyof TestDynamo['tableNames'], key: Record<string, unknown>) {
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: dynamo.tableNames[table], Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  describe('connections', () => {
    it('puts a connection with lastSeen and deletes it', async () => {
      const connectionId = `conn-${randomUUID()}`;
      await store.putConnection({ connectionId, userId: 'alice', connectedAt: NOW, expiresAt: FUTURE_S });
      expect(await rawGet('connections', { connectionId })).toEqual({
        connectionId,
        userId: 'alice',
        connectedAt: NOW,
        expiresAt: FUTURE_S,
        lastSeen: NOW,
      });
      expect(await store.deleteConnection(connectionId)).toBe(true);
      expect(await rawGet('connections', { connectionId })).toBeUndefined();
    });

    it('deleting an absent connection is not an error', async () => {
      await expect(store.deleteConnection('never-existed')).resolves.toBe(false);
    });
  });

  describe('memberships', () => {
    it('puts and gets a live membership', async () => {
      const room = freshRoom();
      const m = membership(room, 'c1');
      await store.putMembership(m);
      expect(await store.getMembership(room, 'c1', NOW)).toEqual(m);
      expect(await store.getMembership(room, 'c2', NOW)).toBeUndefined();
      expect(await store.getMembership(freshRoom(), 'c1', NOW)).toBeUndefined();
    });

    it('treats a membership past its expiresAt as absent although the item lingers', async () => {
      const room = freshRoom();
      await store.putMembership(membership(room, 'c1', { expiresAt: PAST_S }));
      expect(await store.getMembership(room, 'c1', NOW)).toBeUndefined();
      expect(await rawGet('memberships', { room, connectionId: 'c1' })).toBeDefined();
    });

    it('expires exactly at expiresAt', async () => {
      const room = freshRoom();
      await store.putMembership(membership(room, 'c1', { expiresAt: 2_000_000_000 }));
      expect(await store.getMembership(room, 'c1', 2_000_000_000 * 1000 - 1)).toBeDefined();
      expect(await store.getMembership(room, 'c1', 2_000_000_000 * 1000)).toBeUndefined();
    });

    it('deleteMembership says whether there was a live membership', async () => {
      const room = freshRoom();
      await store.putMembership(membership(room, 'c1'));
      expect(await store.deleteMembership(room, 'c1')).toBe(true);
      expect(await rawGet('memberships', { room, connectionId: 'c1' })).toBeUndefined();
      expect(await store.deleteMembership(room, 'c1')).toBe(false);
    });

    it('deleting an expired membership removes it but reports false', async () => {
      const room = freshRoom();
      await store.putMembership(membership(room, 'c1', { expiresAt: PAST_S }));
      expect(await store.deleteMembership(room, 'c1')).toBe(false);
      expect(await rawGet('memberships', { room, connectionId: 'c1' })).toBeUndefined();
    });

    it('lists every live member of a room (more than 100) and drops expired ones', async () => {
      const room = freshRoom('big');
      const live = Array.from({ length: 130 }, (_, i) => membership(room, `live-${String(i).padStart(3, '0')}`));
      const expired = Array.from({ length: 7 }, (_, i) => membership(room, `dead-${i}`, { expiresAt: PAST_S }));
      await Promise.all([...live, ...expired].map((m) => store.putMembership(m)));
      await store.putMembership(membership(freshRoom('elsewhere'), 'live-000'));

      const members = await store.listMembers(room, NOW);
      expect(members).toHaveLength(130);
      expect(members.map((m) => m.connectionId).sort()).toEqual(live.map((m) => m.connectionId).sort());
      expect(members.every((m) => m.room === room)).toBe(true);
    });

    it('follows LastEvaluatedKey across query pages', async () => {
      const room = freshRoom('paged');
      // ~300 KB items: four of them exceed the 1 MB a single Query page may return.
      const filler = 'x'.repeat(300 * 1024);
      const ids = Array.from({ length: 6 }, (_, i) => `conn-${i}`);
      for (const connectionId of ids) {
        await dynamo.client.send(
          new PutCommand({ TableName: dynamo.tableNames.memberships, Item: { ...membership(room, connectionId), filler } }),
        );
      }
      const firstPage = await dynamo.client.send(
        new QueryCommand({
          TableName: dynamo.tableNames.memberships,
          KeyConditionExpression: '#room = :room',
          ExpressionAttributeNames: { '#room': 'room' },
          ExpressionAttributeValues: { ':room': room },
        }),
      );
      // Precondition: the server really pages this room.
      expect(firstPage.LastEvaluatedKey).toBeDefined();
      expect(firstPage.Items!.length).toBeLessThan(ids.length);

      const members = await store.listMembers(room, NOW);
      expect(members.map((m) => m.connectionId).sort()).toEqual(ids);
    });

    it('lists the rooms of a connection through the byConnection index', async () => {
      expect(TABLES.memberships.indexes[0].name).toBe('byConnection');
      const connectionId = `conn-${randomUUID()}`;
      const rooms = [freshRoom('a'), freshRoom('b'), freshRoom('c')];
      for (const room of rooms) await store.putMembership(membership(room, connectionId));
      await store.putMembership(membership(rooms[0]!, `other-${connectionId}`));

      expect((await store.listRoomsOfConnection(connectionId)).sort()).toEqual([...rooms].sort());
      await store.deleteMembership(rooms[1]!, connectionId);
      expect((await store.listRoomsOfConnection(connectionId)).sort()).toEqual([rooms[0], rooms[2]].sort());
      expect(await store.listRoomsOfConnection('no-such-connection')).toEqual([]);
    });
  });

  describe('room sequence hint', () => {
    it('starts at 0 and only moves forward', async () => {
      const room = freshRoom();
      expect(await store.readSeqHint(room)).toBe(0);
      await store.advanceSeqHint(room, 5);
      expect(await store.readSeqHint(room)).toBe(5);
      await store.advanceSeqHint(room, 3);
      expect(await store.readSeqHint(room)).toBe(5);
      await store.advanceSeqHint(room, 5);
      expect(await store.readSeqHint(room)).toBe(5);
      await store.advanceSeqHint(room, 6);
      expect(await store.readSeqHint(room)).toBe(6);
    });

    it('ends at the highest value when advanced concurrently', async () => {
      const room = freshRoom();
      const values = [7, 3, 12, 1, 9, 12, 4, 11];
      await Promise.all(values.map((v) => store.advanceSeqHint(room, v)));
      expect(await store.readSeqHint(room)).toBe(12);
    });
  });

  describe('messages', () => {
    it('writes a seq once; a second write at that seq returns false and changes nothing', async () => {
      const room = freshRoom();
      const first = message(room, 1);
      expect(await store.putMessageIfAbsent(first)).toBe(true);
      expect(await store.putMessageIfAbsent(message(room, 1, { id: 'intruder', user: 'bob', text: 'overwrite' }))).toBe(
        false,
      );
      expect(await store.getMessage(room, 1)).toEqual(first);
      expect(await store.getMessage(room, 2)).toBeUndefined();
    });

    it('lets exactly one of many concurrent writers win a seq', async () => {
      const room = freshRoom();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.putMessageIfAbsent(message(room, 1, { id: `w${i}` }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.getMessage(room, 1))?.id).toBe(`w${winner}`);
    });

    it('lastSeq is 0 for an empty room and the numerically highest seq otherwise', async () => {
      const room = freshRoom();
      expect(await store.lastSeq(room)).toBe(0);
      for (const seq of [2, 9, 10, 1]) await store.putMessageIfAbsent(message(room, seq));
      expect(await store.lastSeq(room)).toBe(10);
      expect(await store.lastSeq(freshRoom())).toBe(0);
    });

    describe('queryMessages', () => {
      const room = freshRoom('hist');
      const seqsOf = (items: StoredMessage[]) => items.map((m) => m.seq);

      beforeAll(async () => {
        for (let seq = 1; seq <= 12; seq++) await store.putMessageIfAbsent(message(room, seq));
        await store.putMessageIfAbsent(message(`${room}-neighbour`, 1));
      });

      it('ascending without bounds starts at the oldest', async () => {
        expect(seqsOf(await store.queryMessages(room, { direction: 'asc', limit: 3 }))).toEqual([1, 2, 3]);
      });

      it('descending without bounds starts at the newest (numeric order)', async () => {
        expect(seqsOf(await store.queryMessages(room, { direction: 'desc', limit: 4 }))).toEqual([12, 11, 10, 9]);
      });

      it('ascending after a seq excludes it', async () => {
        expect(seqsOf(await store.queryMessages(room, { direction: 'asc', afterSeq: 9, limit: 10 }))).toEqual([10, 11, 12]);
        expect(seqsOf(await store.queryMessages(room, { direction: 'asc', afterSeq: 12, limit: 10 }))).toEqual([]);
      });

      it('descending before a seq excludes it', async () => {
        expect(seqsOf(await store.queryMessages(room, { direction: 'desc', beforeSeq: 4, limit: 10 }))).toEqual([3, 2, 1]);
        expect(seqsOf(await store.queryMessages(room, { direction: 'desc', beforeSeq: 1, limit: 10 }))).toEqual([]);
      });

      it('between two seqs returns only the open interval', async () => {
        expect(seqsOf(await store.queryMessages(room, { direction: 'asc', afterSeq: 3, beforeSeq: 7, limit: 10 }))).toEqual(
          [4, 5, 6],
        );
        expect(seqsOf(await store.queryMessages(room, { direction: 'asc', afterSeq: 3, beforeSeq: 7, limit: 2 }))).toEqual([
          4, 5,
        ]);
        expect(seqsOf(await store.queryMessages(room, { direction: 'desc', afterSeq: 3, beforeSeq: 7, limit: 2 }))).toEqual(
          [6, 5],
        );
      });

      it('returns whole stored messages of that room only', async () => {
        const [m] = await store.queryMessages(room, { direction: 'asc', afterSeq: 4, limit: 1 });
        expect(m).toEqual(message(room, 5));
      });
    });
  });

  describe('send claims', () => {
    const claim = (over: Partial<SendClaim> = {}): SendClaim => ({
      key: `room#alice#${randomUUID()}`,
      seq: 1,
      owner: 'req-1',
      leaseUntil: NOW + 30_000,
      expiresAt: FUTURE_S,
      ...over,
    });

    it('creates a new claim and returns undefined', async () => {
      const c = claim();
      expect(await store.claimSend(c, NOW)).toBeUndefined();
      expect(await rawGet('idempotency', { key: c.key })).toEqual(c);
    });

    it('returns the existing live claim instead of overwriting it', async () => {
      const c = claim();
      await store.claimSend(c, NOW);
      const again = await store.claimSend({ ...c, seq: 9, owner: 'req-2', leaseUntil: NOW + 60_000 }, NOW);
      expect(again).toEqual(c);
      expect(await rawGet('idempotency', { key: c.key })).toEqual(c);
    });

    it('lets exactly one of concurrent claimers create the claim', async () => {
      const key = `room#alice#${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.claimSend(claim({ key, owner: `req-${i}` }), NOW)),
      );
      expect(results.filter((r) => r === undefined)).toHaveLength(1);
      const stored = (await rawGet('idempotency', { key })) as SendClaim;
      for (const r of results) if (r) expect(r).toEqual(stored);
    });

    it('reclaims a record whose expiresAt has passed (TTL has not deleted it yet)', async () => {
      const old = claim({ expiresAt: PAST_S, owner: 'old-req', seq: 4 });
      await store.claimSend(old, NOW - 86_400_000);
      const fresh = { ...old, expiresAt: FUTURE_S, owner: 'new-req', seq: 8 };
      expect(await store.claimSend(fresh, NOW)).toBeUndefined();
      expect(await rawGet('idempotency', { key: old.key })).toEqual(fresh);
    });

    it('reclaims a record at exactly its expiresAt second, not one second before', async () => {
      const expiresAt = 2_000_000_000;
      const old = claim({ expiresAt, owner: 'old' });
      await store.claimSend(old, NOW);
      expect(await store.claimSend({ ...old, owner: 'early' }, (expiresAt - 1) * 1000)).toEqual(old);
      expect(await store.claimSend({ ...old, owner: 'on-time' }, expiresAt * 1000)).toBeUndefined();
      expect(((await rawGet('idempotency', { key: old.key })) as SendClaim).owner).toBe('on-time');
    });

    it('moveClaim moves the seq only for the owner', async () => {
      const c = claim({ owner: 'owner-a', seq: 1 });
      await store.claimSend(c, NOW);
      expect(await store.moveClaim(c.key, 'owner-b', 5)).toBe(false);
      expect(((await rawGet('idempotency', { key: c.key })) as SendClaim).seq).toBe(1);
      expect(await store.moveClaim(c.key, 'owner-a', 2)).toBe(true);
      expect(await rawGet('idempotency', { key: c.key })).toEqual({ ...c, seq: 2 });
    });

    it('moveClaim on a missing claim fails without creating it', async () => {
      const key = `room#alice#${randomUUID()}`;
      expect(await store.moveClaim(key, 'anyone', 3)).toBe(false);
      expect(await rawGet('idempotency', { key })).toBeUndefined();
    });

    it('takeOverClaim succeeds once against the claim it read, keeping the seq', async () => {
      const c = claim({ owner: 'crashed', seq: 7, leaseUntil: NOW - 1 });
      await store.claimSend(c, NOW);
      expect(await store.takeOverClaim(c, 'rescuer-1', NOW + 30_000)).toBe(true);
      expect(await rawGet('idempotency', { key: c.key })).toEqual({ ...c, owner: 'rescuer-1', leaseUntil: NOW + 30_000 });
      // A second rescuer that read the same (now outdated) claim loses.
      expect(await store.takeOverClaim(c, 'rescuer-2', NOW + 40_000)).toBe(false);
      expect(((await rawGet('idempotency', { key: c.key })) as SendClaim).owner).toBe('rescuer-1');
      // The new owner can move it; the crashed one no longer can.
      expect(await store.moveClaim(c.key, 'crashed', 8)).toBe(false);
      expect(await store.moveClaim(c.key, 'rescuer-1', 8)).toBe(true);
    });

    it('takeOverClaim fails when the lease changed even if the owner did not', async () => {
      const c = claim({ owner: 'same', leaseUntil: NOW - 1 });
      await store.claimSend(c, NOW);
      expect(await store.takeOverClaim({ ...c, leaseUntil: NOW - 2 }, 'rescuer', NOW + 30_000)).toBe(false);
      expect(await store.takeOverClaim({ ...c, owner: 'someone-else' }, 'rescuer', NOW + 30_000)).toBe(false);
      expect(await rawGet('idempotency', { key: c.key })).toEqual(c);
    });

    it('exactly one of concurrent takeovers wins', async () => {
      const c = claim({ owner: 'crashed', leaseUntil: NOW - 1 });
      await store.claimSend(c, NOW);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.takeOverClaim(c, `rescuer-${i}`, NOW + 30_000 + i)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(((await rawGet('idempotency', { key: c.key })) as SendClaim).owner).toBe(`rescuer-${winner}`);
    });

    it('takeOverClaim on a missing claim fails without creating it', async () => {
      const c = claim();
      expect(await store.takeOverClaim(c, 'rescuer', NOW)).toBe(false);
      expect(await rawGet('idempotency', { key: c.key })).toBeUndefined();
    });

    it('releaseClaim deletes the claim for its owner only', async () => {
      const c = claim({ owner: 'owner-a' });
      await store.claimSend(c, NOW);
      await store.releaseClaim(c.key, 'owner-b');
      expect(await rawGet('idempotency', { key: c.key })).toEqual(c);
      await store.releaseClaim(c.key, 'owner-a');
      expect(await rawGet('idempotency', { key: c.key })).toBeUndefined();
      // Releasing what is no longer there is not an error.
      await expect(store.releaseClaim(c.key, 'owner-a')).resolves.toBeUndefined();
    });
  });

  describe('connection activity (heartbeat)', () => {
    const identity = (connectionId: string) => ({ connectionId, userId: 'alice', connectedAt: NOW });

    it('touchConnection moves lastSeen and the expiry forward', async () => {
      const connectionId = `conn-${randomUUID()}`;
      await store.putConnection({ ...identity(connectionId), expiresAt: connectionRecordExpiresAt(NOW, NOW) });
      await store.touchConnection(identity(connectionId), NOW + 60_000);
      expect(await rawGet('connections', { connectionId })).toEqual({
        ...identity(connectionId),
        lastSeen: NOW + 60_000,
        expiresAt: connectionRecordExpiresAt(NOW, NOW + 60_000),
      });
    });

    it('never moves lastSeen back when an older ping lands late', async () => {
      const connectionId = `conn-${randomUUID()}`;
      await store.touchConnection(identity(connectionId), NOW + 120_000);
      await store.touchConnection(identity(connectionId), NOW + 60_000);
      expect(await rawGet('connections', { connectionId })).toMatchObject({
        lastSeen: NOW + 120_000,
        expiresAt: connectionRecordExpiresAt(NOW, NOW + 120_000),
      });
    });

    it('recreates a swept connection item whole, with an expiry', async () => {
      const connectionId = `conn-${randomUUID()}`;
      await store.touchConnection(identity(connectionId), NOW + 5_000);
      expect(await rawGet('connections', { connectionId })).toEqual({
        ...identity(connectionId),
        lastSeen: NOW + 5_000,
        expiresAt: connectionRecordExpiresAt(NOW, NOW + 5_000),
      });
    });
  });

  describe('send rate window', () => {
    const limit = { maxSends: 3, windowMs: 10_000 };
    const identity = (connectionId: string) => ({ connectionId, userId: 'alice', connectedAt: NOW });

    it('counts nothing until a window is open, then counts up to maxSends', async () => {
      const conn = identity(`conn-${randomUUID()}`);
      expect(await store.countSendInWindow(conn, limit, NOW)).toBe(false);
      expect(await store.readSendWindow(conn.connectionId)).toBeUndefined();
      expect(await store.openSendWindow(conn, limit, NOW)).toBe(true);
      expect(await store.countSendInWindow(conn, limit, NOW + 1)).toBe(true);
      expect(await store.countSendInWindow(conn, limit, NOW + 2)).toBe(true);
      expect(await store.countSendInWindow(conn, limit, NOW + 3)).toBe(false);
      expect(await store.readSendWindow(conn.connectionId)).toEqual({ start: NOW, count: 3 });
    });

    it('opens no second window while the first is open, and a new one once it ended', async () => {
      const conn = identity(`conn-${randomUUID()}`);
      expect(await store.openSendWindow(conn, limit, NOW)).toBe(true);
      expect(await store.openSendWindow(conn, limit, NOW + 9_999)).toBe(false);
      expect(await store.countSendInWindow(conn, limit, NOW + 10_000)).toBe(false);
      expect(await store.openSendWindow(conn, limit, NOW + 10_000)).toBe(true);
      expect(await store.readSendWindow(conn.connectionId)).toEqual({ start: NOW + 10_000, count: 1 });
    });

    it('keeps the connection item whole: the window lives beside its identity and refreshes its expiry', async () => {
      const conn = identity(`conn-${randomUUID()}`);
      await store.putConnection({ ...conn, expiresAt: connectionRecordExpiresAt(NOW, NOW) });
      await store.openSendWindow(conn, limit, NOW + 60_000);
      expect(await rawGet('connections', { connectionId: conn.connectionId })).toEqual({
        ...conn,
        lastSeen: NOW + 60_000,
        expiresAt: connectionRecordExpiresAt(NOW, NOW + 60_000),
        sendWindowStart: NOW + 60_000,
        sendCount: 1,
      });
    });
  });

  describe('typing stamps', () => {
    it('admits one stamp per interval on a live membership', async () => {
      const room = freshRoom();
      await store.putMembership(membership(room, 'c1'));
      expect(await store.markTyping(room, 'c1', NOW, 2000)).toBe(true);
      expect(await store.markTyping(room, 'c1', NOW + 1999, 2000)).toBe(false);
      expect(await store.markTyping(room, 'c1', NOW + 2000, 2000)).toBe(true);
      expect(await rawGet('memberships', { room, connectionId: 'c1' })).toMatchObject({ lastTypingAt: NOW + 2000 });
    });

    it('keeps stamps per connection and per room', async () => {
      const room = freshRoom();
      const other = freshRoom();
      await Promise.all([
        store.putMembership(membership(room, 'c1')),
        store.putMembership(membership(room, 'c2')),
        store.putMembership(membership(other, 'c1')),
      ]);
      expect(await store.markTyping(room, 'c1', NOW, 2000)).toBe(true);
      expect(await store.markTyping(room, 'c2', NOW, 2000)).toBe(true);
      expect(await store.markTyping(other, 'c1', NOW, 2000)).toBe(true);
    });

    it('refuses without creating anything when there is no live membership', async () => {
      const room = freshRoom();
      expect(await store.markTyping(room, 'nobody', NOW, 2000)).toBe(false);
      expect(await rawGet('memberships', { room, connectionId: 'nobody' })).toBeUndefined();
      await store.putMembership(membership(room, 'stale', { expiresAt: PAST_S }));
      expect(await store.markTyping(room, 'stale', NOW, 2000)).toBe(false);
    });
  });

  describe('presence', () => {
    const member = (room: string, connectionId: string, userId = 'alice', over: Partial<Membership> = {}) =>
      membership(room, connectionId, { userId, ...over });

    it("reports the user's first connection as an arrival, later ones and re-joins not", async () => {
      const room = freshRoom();
      expect(await store.addPresence(member(room, 'c1'), NOW)).toBe(true);
      expect(await store.addPresence(member(room, 'c2'), NOW)).toBe(false);
      expect(await store.addPresence(member(room, 'c1'), NOW)).toBe(false);
      expect(await store.addPresence(member(room, 'c3', 'bob'), NOW)).toBe(true);
    });

    it("reports only the user's last connection leaving as a departure, once", async () => {
      const room = freshRoom();
      await store.addPresence(member(room, 'c1'), NOW);
      await store.addPresence(member(room, 'c2'), NOW);
      expect(await store.removePresence(room, 'alice', 'c1', NOW)).toBe(false);
      expect(await store.removePresence(room, 'alice', 'c2', NOW)).toBe(true);
      expect(await store.removePresence(room, 'alice', 'c2', NOW)).toBe(false);
      // Present again after leaving: the next connection is an arrival.
      expect(await store.addPresence(member(room, 'c3'), NOW)).toBe(true);
    });

    it('does not report a departure for a connection it never had', async () => {
      const room = freshRoom();
      expect(await store.removePresence(room, 'alice', 'ghost', NOW)).toBe(false);
      await store.addPresence(member(room, 'c1'), NOW);
      expect(await store.removePresence(room, 'alice', 'ghost', NOW)).toBe(false);
    });

    it('ignores connections past their expiry: a join after them is an arrival, their leave ends nothing', async () => {
      const room = freshRoom();
      await store.addPresence(member(room, 'stale', 'alice', { expiresAt: PAST_S }), NOW - 3_600_000);
      expect(await store.addPresence(member(room, 'fresh'), NOW)).toBe(true);
      expect(await store.removePresence(room, 'alice', 'stale', NOW)).toBe(false);
      expect(await store.removePresence(room, 'alice', 'fresh', NOW)).toBe(true);
    });

    it('ignores a whole record whose TTL has passed', async () => {
      const room = freshRoom();
      await dynamo.client.send(
        new PutCommand({
          TableName: dynamo.tableNames.presence,
          Item: { room, userId: 'alice', 'conn:old': FUTURE_S, expiresAt: PAST_S },
        }),
      );
      expect(await store.addPresence(member(room, 'c1'), NOW)).toBe(true);
      expect(await rawGet('presence', { room, userId: 'alice' })).toMatchObject({
        'conn:c1': FUTURE_S,
        expiresAt: presenceRecordExpiresAt(NOW),
      });
    });

    it('decides exactly one arrival and one departure among concurrent connections of a user', async () => {
      const room = freshRoom();
      const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);
      const arrivals = await Promise.all(ids.map((id) => store.addPresence(member(room, id), NOW)));
      expect(arrivals.filter(Boolean)).toHaveLength(1);
      const departures = await Promise.all(ids.map((id) => store.removePresence(room, 'alice', id, NOW)));
      expect(departures.filter(Boolean)).toHaveLength(1);
    });
  });
});
