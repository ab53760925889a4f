/** Presence per user: arrivals, departures (leave, $disconnect, pruned by fan-out) and who is told. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeConnection, openConnection } from '../../functions/app/connections.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { removeConnection } from '../../functions/app/departures.ts';
import { broadcast, broadcastPresence } from '../../functions/app/fanout.ts';
import { joinRoom, leaveRoom } from '../../functions/app/rooms.ts';
import type { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import { messageFrame, presenceFrame } from '../../functions/domain/protocol.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, RecordingNotifier, type RecordingTelemetry } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let store: DynamoChatStore;
let telemetry: RecordingTelemetry;
const notifier = new RecordingNotifier();

beforeAll(async () => {
  dynamo = await startDynamo('presence');
  ({ deps, store, telemetry } = makeDeps(dynamo, notifier));
});

afterAll(async () => {
  await dynamo?.close();
});

beforeEach(() => {
  notifier.clear();
  notifier.gone.clear();
});

/** Opens a connection and joins rooms the way the join handler does: reply, then announce an arrival. */
async function online(userId: string, rooms: string[]): Promise<Caller> {
  const c = caller(userId);
  await openConnection(deps, c);
  for (const room of rooms) {
    const { arrived } = await joinRoom(deps, again(c), { room });
    if (arrived) await broadcastPresence(deps, room, userId, 'join', Date.now());
  }
  return c;
}

const presenceTo = (c: Caller) => notifier.framesTo(c.connectionId).filter((f) => f.type === 'presence');

describe('arrivals', () => {
  it("announces a user's first connection to the other users, not to the user", async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    notifier.clear();
    const alice = await online('alice', [room]);
    expect(presenceTo(bob)).toEqual([presenceFrame(room, 'alice', 'join')]);
    expect(presenceTo(alice)).toEqual([]);
    expect(telemetry.total('EventsDelivered')).toBeGreaterThan(0);
  });

  it("announces nothing for the user's second connection, nor for a re-join", async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    const alice1 = await online('alice', [room]);
    notifier.clear();
    await online('alice', [room]);
    expect((await joinRoom(deps, again(alice1), { room })).arrived).toBe(false);
    expect(presenceTo(bob)).toEqual([]);
  });

  it('reports arrival per room', async () => {
    const [first, second] = [freshRoom(), freshRoom()];
    const alice = caller('alice');
    expect((await joinRoom(deps, alice, { room: first })).arrived).toBe(true);
    expect((await joinRoom(deps, again(alice), { room: second })).arrived).toBe(true);
  });
});

describe('departures', () => {
  it("announces the user's last connection leaving, not an earlier one", async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    const alice1 = await online('alice', [room]);
    const alice2 = await online('alice', [room]);
    notifier.clear();

    expect(await leaveRoom(deps, again(alice1), { room })).toEqual({ departed: false });
    const { departed } = await leaveRoom(deps, again(alice2), { room });
    expect(departed).toBe(true);
    await broadcastPresence(deps, room, 'alice', 'leave', Date.now());
    expect(presenceTo(bob)).toEqual([presenceFrame(room, 'alice', 'leave')]);
  });

  it('announces a $disconnect in every room it was the last connection in', async () => {
    const [shared, solo] = [freshRoom('shared'), freshRoom('solo')];
    const bob = await online('bob', [shared, solo]);
    const aliceLaptop = await online('alice', [shared, solo]);
    await online('alice', [shared]);
    notifier.clear();

    await closeConnection(deps, again(aliceLaptop));

    expect(presenceTo(bob)).toEqual([presenceFrame(solo, 'alice', 'leave')]);
    expect(telemetry.total('ConnectionsClosed')).toBeGreaterThan(0);
    expect(await store.getMembership(shared, aliceLaptop.connectionId, Date.now())).toBeUndefined();
  });

  it('counts a connection found gone during fan-out as gone and announces its departure', async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    const carol = await online('carol', [room]);
    const alice = await online('alice', [room]);
    notifier.clear();
    notifier.gone.add(alice.connectionId);

    const message = { room, seq: 1, id: 'm1', user: 'bob', text: 'hi', ts: Date.now() };
    await broadcast(deps, room, messageFrame(message), Date.now());

    for (const other of [bob, carol]) {
      expect(notifier.framesTo(other.connectionId)).toEqual([messageFrame(message), presenceFrame(room, 'alice', 'leave')]);
    }
    expect(await store.listMembers(room, Date.now())).toHaveLength(2);
  });

  it('announces the departure in every room of the pruned connection, and prunes what the announcements find', async () => {
    const [room, elsewhere] = [freshRoom('main'), freshRoom('elsewhere')];
    const bob = await online('bob', [room]);
    const dave = await online('dave', [elsewhere]);
    const alice = await online('alice', [room, elsewhere]);
    const erin = await online('erin', [elsewhere]);
    notifier.clear();
    notifier.gone.add(alice.connectionId);
    notifier.gone.add(erin.connectionId);

    await broadcast(deps, room, presenceFrame(room, 'bob', 'join'), Date.now(), { exceptUser: 'bob' });

    // alice was pruned in `room`; announcing that in `elsewhere` found erin gone too.
    expect(presenceTo(bob)).toEqual([presenceFrame(room, 'alice', 'leave')]);
    expect(presenceTo(dave)).toEqual(
      expect.arrayContaining([presenceFrame(elsewhere, 'alice', 'leave'), presenceFrame(elsewhere, 'erin', 'leave')]),
    );
    expect(presenceTo(dave)).toHaveLength(2);
    expect((await store.listMembers(elsewhere, Date.now())).map((m) => m.userId)).toEqual(['dave']);
  });

  it('reports a departure once when $disconnect and a pruning fan-out remove the same connection', async () => {
    const room = freshRoom();
    const alice = await online('alice', [room]);
    const results = await Promise.all([
      removeConnection(store, alice, Date.now()),
      removeConnection(store, alice, Date.now(), [room]),
      removeConnection(store, alice, Date.now(), [room]),
    ]);
    expect(results.flatMap((r) => r.departures)).toEqual([{ room, userId: 'alice' }]);
    expect(results.filter((r) => r.removed)).toHaveLength(1);
  });

  it('announces no departure for a user who still has a connection in the room', async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    const alice1 = await online('alice', [room]);
    await online('alice', [room]);
    notifier.clear();
    notifier.gone.add(alice1.connectionId);

    const message = { room, seq: 1, id: 'm1', user: 'bob', text: 'hi', ts: Date.now() };
    await broadcast(deps, room, messageFrame(message), Date.now());

    expect(presenceTo(bob)).toEqual([]);
    expect(telemetry.total('StaleConnectionsPruned')).toBeGreaterThan(0);
  });
});

describe('audience', () => {
  it('leaves every connection of the excepted user out', async () => {
    const room = freshRoom();
    const bob = await online('bob', [room]);
    const alice1 = await online('alice', [room]);
    const alice2 = await online('alice', [room]);
    notifier.clear();
    await broadcast(deps, room, { type: 'typing', room, user: 'alice' }, Date.now(), { exceptUser: 'alice' });
    expect(notifier.framesTo(bob.connectionId)).toEqual([{ type: 'typing', room, user: 'alice' }]);
    expect(notifier.framesTo(alice1.connectionId)).toEqual([]);
    expect(notifier.framesTo(alice2.connectionId)).toEqual([]);
  });
});
