/**
 * Private rooms, invitations, removals and room-scoped tokens end to end on the local stack: the synthesized
 * dev plan (routes, roles table, IAM), the authorizer passing the rooms claim through its context, real sockets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, handshakeStatus } from '../support/ws-client.ts';

const { stack, connect, joined } = useStack(() => bootDevStack());

const scopedClients: ChatClient[] = [];
afterAll(async () => {
  await Promise.all(scopedClients.map((c) => c.close()));
});

/** A client whose token carries a `rooms` claim. */
async function connectScoped(user: string, rooms: unknown): Promise<ChatClient> {
  const client = await ChatClient.connect(stack.wsUrl(await stack.idp.mint(user, { claims: { rooms } })));
  scopedClients.push(client);
  return client;
}

describe('a private room', () => {
  const room = 'pr-secret';
  let olga: ChatClient;

  it('is created by a private join, owned by its creator', async () => {
    olga = await connect('pr-olga');
    const reply = await olga.request({ action: 'join', room, visibility: 'private' }, 'joined');
    expect(reply).toMatchObject({ type: 'joined', room, lastSeq: 0, members: ['pr-olga'], memberCount: 1 });
    await olga.request({ action: 'send', room, text: 'the plan', clientMsgId: 's-1' }, 'ack');
  });

  it('cannot be guessed: FORBIDDEN to join, NOT_A_MEMBER for the rest, and nothing leaks', async () => {
    const eve = await connect('pr-eve');
    const plain = await eve.request({ action: 'join', room }, 'error');
    expect(plain).toMatchObject({ code: 'FORBIDDEN', message: `you may not join room ${room}`, retryable: false });
    const asPrivate = await eve.request({ action: 'join', room, visibility: 'private' }, 'error');
    expect(asPrivate).toMatchObject({ code: 'FORBIDDEN', message: `you may not join room ${room}` });
    for (const frame of [
      { action: 'history', room },
      { action: 'who', room },
      { action: 'send', room, text: 'let me in', clientMsgId: 'e-1' },
    ]) {
      expect(await eve.request(frame, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });
    }
    expect(await eve.request({ action: 'typing', room }, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });

    // Positive control: an invited user's arrival reaches olga, and olga's next message reaches the invitee.
    expect(await olga.request({ action: 'invite', room, user: 'pr-mia' }, 'invited')).toEqual({
      type: 'invited',
      room,
      user: 'pr-mia',
      role: 'member',
    });
    const mia = await connect('pr-mia');
    const miaJoined = await mia.request({ action: 'join', room }, 'joined');
    expect(miaJoined).toMatchObject({ members: ['pr-mia', 'pr-olga'], lastSeq: 1 });
    await olga.next((f) => f.type === 'presence' && f.user === 'pr-mia' && f.event === 'join');
    await olga.request({ action: 'send', room, text: 'welcome', clientMsgId: 's-2' }, 'ack');
    await mia.next((f) => f.type === 'message' && f.seq === 2);

    // By then, eve got no message, history, presence or typing of the room, and olga heard nothing of eve.
    expect(eve.frames.filter((f) => f.room === room && f.type !== 'error')).toEqual([]);
    expect(olga.frames.filter((f) => f.user === 'pr-eve')).toEqual([]);
    expect(mia.frames.filter((f) => f.user === 'pr-eve')).toEqual([]);
  });

  it('tells a removed user’s connections, tells the room, and keeps them out', async () => {
    const [tab1, tab2] = await Promise.all([joined('pr-max', 'pr-lobby'), connect('pr-max')]);
    await olga.request({ action: 'invite', room, user: 'pr-max', role: 'member' }, 'invited');
    await tab1.request({ action: 'join', room }, 'joined');
    await tab2.request({ action: 'join', room }, 'joined');
    await olga.next((f) => f.type === 'presence' && f.user === 'pr-max' && f.event === 'join');

    expect(await olga.request({ action: 'remove', room, user: 'pr-max' }, 'removed')).toEqual({ type: 'removed', room, user: 'pr-max' });
    expect(await tab1.next((f) => f.type === 'removed')).toEqual({ type: 'removed', room });
    expect(await tab2.next((f) => f.type === 'removed')).toEqual({ type: 'removed', room });
    await olga.next((f) => f.type === 'presence' && f.user === 'pr-max' && f.event === 'leave');

    expect(await tab1.request({ action: 'send', room, text: 'still here?', clientMsgId: 'x-1' }, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(await tab2.request({ action: 'join', room }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    // Only that room: tab1's other room still works.
    await tab1.request({ action: 'send', room: 'pr-lobby', text: 'hello lobby', clientMsgId: 'x-2' }, 'ack');
  });

  it('forbids invite and remove to members and outsiders, and keeps the owner', async () => {
    const mia = await joined('pr-mia', room);
    expect(await mia.request({ action: 'invite', room, user: 'pr-eve' }, 'error')).toMatchObject({
      code: 'FORBIDDEN',
      message: `you may not invite to room ${room}`,
    });
    expect(await mia.request({ action: 'remove', room, user: 'pr-olga' }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    const eve = await connect('pr-eve');
    expect(await eve.request({ action: 'invite', room, user: 'pr-eve' }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    expect(await eve.request({ action: 'join', room }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses to be re-created over a public room of the same name', async () => {
    const pat = await joined('pr-pat', 'pr-open');
    expect(pat.ofType('joined')).toHaveLength(1);
    const olgaAgain = await connect('pr-olga');
    expect(await olgaAgain.request({ action: 'join', room: 'pr-open', visibility: 'private' }, 'error')).toMatchObject({ code: 'ROOM_EXISTS' });
  });
});

describe('a token scoped to rooms', () => {
  it('joins the rooms its claim matches and is FORBIDDEN elsewhere, whether the room exists or not', async () => {
    await joined('pr-host', 'pr-general');
    const sam = await connectScoped('pr-sam', ['pr-team-*']);
    expect(await sam.request({ action: 'join', room: 'pr-team-a' }, 'joined')).toMatchObject({ room: 'pr-team-a' });
    const existing = await sam.request({ action: 'join', room: 'pr-general' }, 'error');
    const missing = await sam.request({ action: 'join', room: 'pr-nowhere' }, 'error');
    expect(existing).toMatchObject({ code: 'FORBIDDEN', message: 'you may not join room pr-general' });
    expect(missing).toMatchObject({ code: 'FORBIDDEN', message: 'you may not join room pr-nowhere' });
    // The refused join created nothing: an unscoped user finds pr-nowhere new and empty.
    const other = await connect('pr-other');
    expect(await other.request({ action: 'join', room: 'pr-nowhere' }, 'joined')).toMatchObject({ lastSeq: 0, members: ['pr-other'] });
  });

  it('is refused at the handshake (403) when its rooms claim is not a list of room patterns', async () => {
    for (const rooms of ['pr-team-*', ['bad#room'], [1]]) {
      expect(await handshakeStatus(stack.wsUrl(await stack.idp.mint('pr-sam', { claims: { rooms } })))).toBe(403);
    }
  });
});
