/** Private rooms, invitations, removals and token scopes: the use cases against the real store on dynalite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { readHistory, sendMessage } from '../../functions/app/messages.ts';
import { announceRemoval, inviteToRoom, removeUserFromRoom } from '../../functions/app/room-access.ts';
import { joinRoom, listRoomMembers, signalTyping } from '../../functions/app/rooms.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, RecordingNotifier, rejection } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let store: DynamoChatStore;
let notifier: RecordingNotifier;

beforeAll(async () => {
  dynamo = await startDynamo('room-access');
  notifier = new RecordingNotifier();
  ({ deps, store } = makeDeps(dynamo, notifier));
});

afterAll(async () => {
  await dynamo?.close();
});

/** The owner of a new private room, joined on one connection. */
async function privateRoomOf(owner: string): Promise<{ room: string; owner: Caller }> {
  const room = freshRoom('private');
  const c = caller(owner);
  await joinRoom(deps, c, { room, visibility: 'private' });
  return { room, owner: c };
}

describe('creating rooms', () => {
  it('makes a private join of a new room its owner, and keeps a plain join public', async () => {
    const { room } = await privateRoomOf('olga');
    expect(await store.readRoomSettings(room)).toEqual({ visibility: 'private', owner: 'olga' });
    const open = freshRoom('public');
    await joinRoom(deps, caller('pat'), { room: open });
    expect(await store.readRoomSettings(open)).toEqual({ visibility: 'public' });
  });

  it('keeps a room’s visibility fixed: a private join of a public room is ROOM_EXISTS and joins nothing', async () => {
    const open = freshRoom('public');
    await joinRoom(deps, caller('pat'), { room: open });
    const olga = caller('olga');
    const error = await rejection(joinRoom(deps, olga, { room: open, visibility: 'private' }));
    expect(error).toMatchObject({ code: 'ROOM_EXISTS', retryable: false });
    expect(await store.getMembership(open, olga.connectionId, Date.now())).toBeUndefined();
    expect(await store.readRoomSettings(open)).toEqual({ visibility: 'public' });
  });

  it('reads a room that has messages from before rooms had settings as public', async () => {
    const legacy = freshRoom('legacy');
    await store.advanceSeqHint(legacy, 3);
    expect(await store.readRoomSettings(legacy)).toEqual({ visibility: 'public' });
    expect(await store.createRoom(legacy, { visibility: 'private', owner: 'olga' }, Date.now())).toBe(false);
    await joinRoom(deps, caller('pat'), { room: legacy });
  });

  it('resolves concurrent private creations of one name to one owner; every other creator is FORBIDDEN', async () => {
    const room = freshRoom('race');
    const creators = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((user) => caller(user));
    const outcomes = await Promise.allSettled(creators.map((c) => joinRoom(deps, c, { room, visibility: 'private' })));
    const [winner, ...others] = creators.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    expect(others).toHaveLength(0);
    expect(await store.readRoomSettings(room)).toEqual({ visibility: 'private', owner: winner?.userId });
    for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('resolves a public and a private creation of one name to the one that wrote first', async () => {
    const room = freshRoom('race');
    const [pub, priv] = [caller('pat'), caller('olga')];
    const outcomes = await Promise.allSettled([joinRoom(deps, pub, { room }), joinRoom(deps, priv, { room, visibility: 'private' })]);
    const settings = await store.readRoomSettings(room);
    if (settings?.visibility === 'public') {
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ROOM_EXISTS' });
    } else {
      expect(settings).toEqual({ visibility: 'private', owner: 'olga' });
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
      expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'FORBIDDEN' });
    }
  });
});

describe('entering a private room', () => {
  it('forbids an uninvited user, with the words a room that does not exist would get, and records nothing', async () => {
    const { room } = await privateRoomOf('olga');
    const eve = caller('eve');
    const error = await rejection(joinRoom(deps, eve, { room }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', retryable: false, message: `you may not join room ${room}` });
    expect(await store.getMembership(room, eve.connectionId, Date.now())).toBeUndefined();
    // The same request outside a token's scope (where the room's existence is never read) says the same.
    const ghost = freshRoom('ghost');
    const scoped = await rejection(joinRoom(deps, { ...caller('eve'), roomScope: ['elsewhere'] }, { room: ghost }));
    expect(scoped).toMatchObject({ code: 'FORBIDDEN', message: `you may not join room ${ghost}` });
    expect(await store.readRoomSettings(ghost)).toBeUndefined();
  });

  it('keeps NOT_A_MEMBER for history, who, send and typing by an outsider', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await sendMessage(deps, again(owner), { room, text: 'secret', clientMsgId: 'c-1' });
    const eve = caller('eve');
    await rejection(joinRoom(deps, eve, { room }));
    for (const attempt of [
      readHistory(deps, again(eve), { room }),
      listRoomMembers(deps, again(eve), { room }),
      sendMessage(deps, again(eve), { room, text: 'hi', clientMsgId: 'e-1' }),
      signalTyping(deps, again(eve), { room }),
    ]) {
      expect(await rejection(attempt)).toMatchObject({ code: 'NOT_A_MEMBER' });
    }
  });

  it('lets an invited member in, with or without visibility, and the owner back in on another connection', async () => {
    const { room, owner } = await privateRoomOf('olga');
    expect(await inviteToRoom(deps, again(owner), { room, user: 'mia' })).toEqual({ room, user: 'mia', role: 'member' });
    await joinRoom(deps, caller('mia'), { room });
    await joinRoom(deps, caller('mia'), { room, visibility: 'private' });
    await joinRoom(deps, caller('olga'), { room, visibility: 'private' });
    expect((await listRoomMembers(deps, again(owner), { room })).members).toEqual(['mia', 'olga']);
  });

  it('joins only rooms inside the token’s scope', async () => {
    const scoped = (user: string): Caller => ({ ...caller(user), roomScope: ['lobby-*', 'exact'] });
    await joinRoom(deps, scoped('sam'), { room: `lobby-${freshRoom()}` });
    const outside = freshRoom('team');
    expect(await rejection(joinRoom(deps, scoped('sam'), { room: outside }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rejection(joinRoom(deps, scoped('sam'), { room: 'exact-not' }))).toMatchObject({ code: 'FORBIDDEN' });
    // An empty scope joins nothing; a private room needs both the scope and an invitation.
    expect(await rejection(joinRoom(deps, { ...caller('sam'), roomScope: [] }, { room: outside }))).toMatchObject({ code: 'FORBIDDEN' });
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'sam' });
    expect(await rejection(joinRoom(deps, scoped('sam'), { room }))).toMatchObject({ code: 'FORBIDDEN' });
    await joinRoom(deps, { ...caller('sam'), roomScope: ['private-*'] }, { room });
  });
});

describe('invite', () => {
  it('lets the owner make an admin, who can then invite members but not admins', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'adam', role: 'admin' });
    const adam = caller('adam');
    await joinRoom(deps, adam, { room });
    expect(await inviteToRoom(deps, again(adam), { room, user: 'mia' })).toEqual({ room, user: 'mia', role: 'member' });
    expect(await rejection(inviteToRoom(deps, again(adam), { room, user: 'max', role: 'admin' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.readGrant(room, 'max')).toBeUndefined();
  });

  it('forbids members, outsiders, public rooms and rooms that do not exist alike', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    const open = freshRoom('public');
    await joinRoom(deps, caller('pat'), { room: open });
    const refusals = await Promise.all([
      rejection(inviteToRoom(deps, caller('mia'), { room, user: 'max' })),
      rejection(inviteToRoom(deps, caller('eve'), { room, user: 'eve' })),
      rejection(inviteToRoom(deps, caller('pat'), { room: open, user: 'max' })),
      rejection(inviteToRoom(deps, caller('eve'), { room: freshRoom('ghost'), user: 'max' })),
    ]);
    for (const refusal of refusals) expect(refusal).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/^you may not invite to room /) });
    expect(await store.readGrant(room, 'max')).toBeUndefined();
    expect(await store.readGrant(room, 'eve')).toBeUndefined();
  });

  it('never changes the owner’s role', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'adam', role: 'admin' });
    expect(await rejection(inviteToRoom(deps, again(owner), { room, user: 'olga', role: 'member' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rejection(inviteToRoom(deps, caller('adam'), { room, user: 'olga' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.readRoomSettings(room)).toEqual({ visibility: 'private', owner: 'olga' });
  });
});

describe('remove', () => {
  it('ends every membership of the user, tells their connections and the room, and keeps them out', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    const [tab1, tab2] = [caller('mia'), caller('mia')];
    await joinRoom(deps, tab1, { room });
    await joinRoom(deps, tab2, { room });
    notifier.clear();

    const removal = await removeUserFromRoom(deps, again(owner), { room, user: 'mia' });
    expect(removal).toMatchObject({ room, user: 'mia', departed: true });
    expect(removal.connectionIds.sort()).toEqual([tab1.connectionId, tab2.connectionId].sort());
    await announceRemoval(deps, removal, Date.now());
    expect(notifier.framesTo(tab1.connectionId)).toEqual([{ type: 'removed', room }]);
    expect(notifier.framesTo(tab2.connectionId)).toEqual([{ type: 'removed', room }]);
    expect(notifier.framesTo(owner.connectionId)).toEqual([{ type: 'presence', room, user: 'mia', event: 'leave' }]);

    expect(await rejection(sendMessage(deps, again(tab1), { room, text: 'still here?', clientMsgId: 'm-1' }))).toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(await rejection(joinRoom(deps, again(tab1), { room }))).toMatchObject({ code: 'FORBIDDEN' });
    expect((await listRoomMembers(deps, again(owner), { room })).members).toEqual(['olga']);
  });

  it('withdraws the grant of a user who is not connected, so they cannot join later', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    expect(await removeUserFromRoom(deps, again(owner), { room, user: 'mia' })).toMatchObject({ connectionIds: [], departed: false });
    expect(await rejection(joinRoom(deps, caller('mia'), { room }))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('keeps the owner, and lets an admin remove members but not other admins', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'adam', role: 'admin' });
    await inviteToRoom(deps, again(owner), { room, user: 'alma', role: 'admin' });
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    const adam = caller('adam');
    expect(await rejection(removeUserFromRoom(deps, adam, { room, user: 'olga' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rejection(removeUserFromRoom(deps, again(owner), { room, user: 'olga' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rejection(removeUserFromRoom(deps, again(adam), { room, user: 'alma' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.readGrant(room, 'alma')).toBe('admin');
    await removeUserFromRoom(deps, again(adam), { room, user: 'mia' });
    expect(await store.readGrant(room, 'mia')).toBeUndefined();
    // A member may give up their own access; the owner demotes or removes an admin.
    await removeUserFromRoom(deps, caller('alma'), { room, user: 'alma' });
    expect(await store.readGrant(room, 'alma')).toBeUndefined();
  });

  it('forbids outsiders and public rooms', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    expect(await rejection(removeUserFromRoom(deps, caller('eve'), { room, user: 'mia' }))).toMatchObject({
      code: 'FORBIDDEN',
      message: `you may not remove from room ${room}`,
    });
    expect(await rejection(removeUserFromRoom(deps, caller('mia'), { room, user: 'olga' }))).toMatchObject({ code: 'FORBIDDEN' });
    const open = freshRoom('public');
    const pat = caller('pat');
    await joinRoom(deps, pat, { room: open });
    expect(await rejection(removeUserFromRoom(deps, again(pat), { room: open, user: 'pat' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.readGrant(room, 'mia')).toBe('member');
  });

  it('leaves no membership behind when a removal lands between the removed user’s admission and membership', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    // The one interleaving that matters, forced: dynalite answers too quickly for it to happen by chance. The
    // store is the real one; only its putMembership first lets the owner's whole removal run (an interposition,
    // not a fake: every call still reaches dynalite).
    let removal: Promise<unknown> | undefined;
    const racing: DynamoChatStore = Object.assign(Object.create(store) as DynamoChatStore, {
      putMembership: async (membership: Parameters<DynamoChatStore['putMembership']>[0]) => {
        removal ??= removeUserFromRoom(deps, again(owner), { room, user: 'mia' });
        expect(await removal).toMatchObject({ connectionIds: [] });
        return store.putMembership(membership);
      },
    });
    const mia = caller('mia');
    const error = await rejection(joinRoom({ ...deps, store: racing }, mia, { room }));
    expect(error).toMatchObject({ code: 'FORBIDDEN' });
    expect(removal).toBeDefined();
    expect(await store.getMembership(room, mia.connectionId, Date.now())).toBeUndefined();
    // Nor any presence: another connection of mia's would be her arrival (addPresence is true when she was absent).
    const probe = { room, connectionId: 'probe', userId: 'mia', joinedAt: Date.now(), expiresAt: Math.floor(Date.now() / 1000) + 60 };
    expect(await store.addPresence(probe, Date.now())).toBe(true);
  });

  it('leaves no presence behind when the removal lands between the join’s membership and its presence', async () => {
    const { room, owner } = await privateRoomOf('olga');
    await inviteToRoom(deps, again(owner), { room, user: 'mia' });
    // The same interposition, one step later: the whole removal runs just before the join records presence.
    let removal: Promise<unknown> | undefined;
    const racing: DynamoChatStore = Object.assign(Object.create(store) as DynamoChatStore, {
      addPresence: async (...args: Parameters<DynamoChatStore['addPresence']>) => {
        removal ??= removeUserFromRoom(deps, again(owner), { room, user: 'mia' });
        await removal;
        return store.addPresence(...args);
      },
    });
    const mia = caller('mia');
    expect(await rejection(joinRoom({ ...deps, store: racing }, mia, { room }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.getMembership(room, mia.connectionId, Date.now())).toBeUndefined();
    const probe = { room, connectionId: 'probe', userId: 'mia', joinedAt: Date.now(), expiresAt: Math.floor(Date.now() / 1000) + 60 };
    expect(await store.addPresence(probe, Date.now())).toBe(true);
  });
});
