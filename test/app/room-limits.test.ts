/**
 * Rooms per connection, users per room and the typing cut-off (domain/room-limits.ts), against the real store on
 * dynalite: counters on the connection and room items, kept with single-item conditional writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnection, openConnection } from '../../functions/app/connections.ts';
import type { Deps } from '../../functions/app/context.ts';
import { inviteToRoom, removeUserFromRoom } from '../../functions/app/room-access.ts';
import { joinRoom, leaveRoom, signalTyping } from '../../functions/app/rooms.ts';
import type { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, member, RecordingNotifier, type RecordingTelemetry, rejection } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let store: DynamoChatStore;
let telemetry: RecordingTelemetry;

beforeAll(async () => {
  dynamo = await startDynamo('room-limits');
  const made = makeDeps(dynamo, new RecordingNotifier());
  ({ store, telemetry } = made);
  deps = { ...made.deps, roomLimits: { roomsPerConnection: 3, membersPerRoom: 2, typingMaxMembers: 2 } };
});

afterAll(async () => {
  await dynamo?.close();
});

const roomMembers = (room: string) => store.readCount({ of: 'room-members', room });
const connectionRooms = (connectionId: string) => store.readCount({ of: 'connection-rooms', connectionId });

describe('rooms per connection', () => {
  it('refuses the join past the limit with TOO_MANY_ROOMS, writing nothing for it', async () => {
    const ann = caller('lim-ann');
    for (const label of ['a', 'b', 'c']) await joinRoom(deps, again(ann), { room: freshRoom(label) });
    const fourth = freshRoom('d');
    const error = await rejection(joinRoom(deps, again(ann), { room: fourth }));
    expect(error).toMatchObject({ code: 'TOO_MANY_ROOMS', retryable: false });
    expect(await store.getMembership(fourth, ann.connectionId, Date.now())).toBeUndefined();
    expect(await roomMembers(fourth)).toBe(0);
    expect(await connectionRooms(ann.connectionId)).toBe(3);
  });

  it('counts a room once however often the connection joins it, and gives the place back on leave', async () => {
    const bea = caller('lim-bea');
    const rooms = [freshRoom('a'), freshRoom('b'), freshRoom('c')];
    for (const room of rooms) await joinRoom(deps, again(bea), { room });
    // A retried join of a room it is in: still three rooms, not four.
    await joinRoom(deps, again(bea), { room: rooms[0] as string });
    expect(await connectionRooms(bea.connectionId)).toBe(3);
    await leaveRoom(deps, again(bea), { room: rooms[1] as string });
    expect(await connectionRooms(bea.connectionId)).toBe(2);
    await joinRoom(deps, again(bea), { room: freshRoom('e') });
  });

  it('recounts a connection whose counter drifted above its memberships instead of refusing it for good', async () => {
    const cid = caller('lim-cid');
    await joinRoom(deps, again(cid), { room: freshRoom('a') });
    // A lost release: the counter says 3 while the connection is in one room.
    await store.takeCount({ of: 'connection-rooms', connectionId: cid.connectionId }, 3, Date.now());
    await store.takeCount({ of: 'connection-rooms', connectionId: cid.connectionId }, 3, Date.now());
    expect(await connectionRooms(cid.connectionId)).toBe(3);
    await expect.poll(async () => (await store.listRoomsOfConnection(cid.connectionId)).length).toBe(1);
    await joinRoom(deps, again(cid), { room: freshRoom('b') });
    expect(await connectionRooms(cid.connectionId)).toBe(2);
  });

  it('gives the place back when admission refuses the join, and creates no room for a refused one', async () => {
    const room = freshRoom('private');
    await joinRoom(deps, caller('lim-ola'), { room, visibility: 'private' });
    const stranger = caller('lim-sam');
    expect(await rejection(joinRoom(deps, stranger, { room }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await connectionRooms(stranger.connectionId)).toBe(0);
    // At its limit, a connection's join of a new name is refused before the room would be created.
    for (const label of ['a', 'b', 'c']) await joinRoom(deps, again(stranger), { room: freshRoom(label) });
    const unborn = freshRoom('unborn');
    expect(await rejection(joinRoom(deps, again(stranger), { room: unborn }))).toMatchObject({ code: 'TOO_MANY_ROOMS' });
    expect(await store.readRoomSettings(unborn)).toBeUndefined();
  });

  it("gives the removed user's connection its place back when an owner removes them", async () => {
    const room = freshRoom('private');
    const owner = caller('lim-own');
    await joinRoom(deps, owner, { room, visibility: 'private' });
    await inviteToRoom(deps, again(owner), { room, user: 'lim-gus' });
    const gus = await member(deps, room, 'lim-gus');
    expect(await connectionRooms(gus.connectionId)).toBe(1);
    await removeUserFromRoom(deps, again(owner), { room, user: 'lim-gus' });
    expect(await connectionRooms(gus.connectionId)).toBe(0);
  });
});

describe('users per room', () => {
  it('refuses a new user past the limit with ROOM_FULL, leaving no membership or presence, while present users may add connections', async () => {
    const room = freshRoom();
    await member(deps, room, 'lim-dee');
    const eve = await member(deps, room, 'lim-eve');
    const fay = caller('lim-fay');
    const error = await rejection(joinRoom(deps, fay, { room }));
    expect(error).toMatchObject({ code: 'ROOM_FULL', retryable: false });
    expect(await store.getMembership(room, fay.connectionId, Date.now())).toBeUndefined();
    expect((await store.listMembers(room, Date.now())).map((m) => m.userId).sort()).toEqual(['lim-dee', 'lim-eve']);
    // The refused join gave back its place among the connection's rooms too.
    expect(await connectionRooms(fay.connectionId)).toBe(0);
    expect(await roomMembers(room)).toBe(2);
    // Dee's second device is not a new user.
    await member(deps, room, 'lim-dee');
    expect(await roomMembers(room)).toBe(2);
    // Once a user has left, the next one gets in.
    await leaveRoom(deps, again(eve), { room });
    expect(await roomMembers(room)).toBe(1);
    await joinRoom(deps, again(fay), { room });
    expect(await roomMembers(room)).toBe(2);
  });

  it("counts a user's departure on $disconnect, which removes the connection from every room", async () => {
    const room = freshRoom();
    const gil = caller('lim-gil');
    await openConnection(deps, gil);
    await joinRoom(deps, again(gil), { room });
    expect(await roomMembers(room)).toBe(1);
    await expect.poll(async () => (await store.listRoomsOfConnection(gil.connectionId)).length).toBe(1);
    await closeConnection(deps, again(gil));
    expect(await roomMembers(room)).toBe(0);
  });

  it('recounts a room whose counter drifted above its users (presence expired without a departure)', async () => {
    const room = freshRoom();
    await member(deps, room, 'lim-hal');
    // The other place is held by a user whose presence expired by TTL: nobody counted the departure.
    await store.takeCount({ of: 'room-members', room }, 2, Date.now());
    expect(await roomMembers(room)).toBe(2);
    await member(deps, room, 'lim-ida');
    expect(await roomMembers(room)).toBe(2);
  });
});

describe('typing in large rooms', () => {
  it("relays typing in a room of at most the stage's typingMaxMembers users, and not above (counted, no member query)", async () => {
    const room = freshRoom();
    const jan = await member(deps, room, 'lim-jan');
    await member(deps, room, 'lim-kim');
    expect(await signalTyping(deps, again(jan), { room })).toBe(true);
    // A third user, on the room's counter: the users limit here (2) would refuse a real one.
    await store.resetCount({ of: 'room-members', room }, 2, 3);
    const before = telemetry.total('TypingNotRelayed');
    expect(await signalTyping(deps, later(jan), { room })).toBe(false);
    expect(telemetry.total('TypingNotRelayed')).toBe(before + 1);
  });
});

/** The same connection, past the 2 s a typing event waits for the next. */
const later = (c: ReturnType<typeof caller>) => ({ ...again(c), nowMs: Date.now() + 5_000 });
