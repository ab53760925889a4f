/**
 * One connection joining room after room, users crowding one room, and typing in a room past the typing cut-off,
 * on the local stack. It runs on a copy of the dev plan whose join function allows 3 rooms per connection and 3
 * users per room and whose typing function relays in rooms of at most 2 users (as an SRE's edit of the stage's
 * limits would render them), so the limits are reached in a few frames; the functions read them from the plan.
 */
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { useStack } from '../support/local-stack.ts';
import { bootEditedStack, resourceOf } from '../support/plan-copy.ts';
import { itemCounts } from '../support/tables.ts';
import { ChatClient, type Frame } from '../support/ws-client.ts';

const { stack, connect } = useStack(() =>
  bootEditedStack((plan) => {
    const variablesOf = (fn: string) => (resourceOf(plan, 'aws_lambda_function', fn).environment as { variables: Record<string, string> }).variables;
    Object.assign(variablesOf('join'), { [ENV.roomsPerConnection]: '3', [ENV.membersPerRoom]: '3' });
    variablesOf('typing')[ENV.typingMaxMembers] = '2';
  }),
);

/** The reply to a join: `joined`, or the error frame for it. */
async function join(client: ChatClient, room: string): Promise<Frame> {
  const before = client.frames.length;
  client.send({ action: 'join', room });
  return client.next((f) => client.frames.indexOf(f) >= before && ((f.type === 'joined' && f.room === room) || f.type === 'error'));
}

describe('rooms per connection', () => {
  it('answers the join past the limit with TOO_MANY_ROOMS and writes nothing; a leave makes room for it', async () => {
    const hopper = await connect('hopper');
    for (const room of ['rl-a', 'rl-b', 'rl-c']) expect(await join(hopper, room)).toMatchObject({ type: 'joined', room });
    const before = await itemCounts(stack);
    expect(await join(hopper, 'rl-d')).toMatchObject({ type: 'error', code: 'TOO_MANY_ROOMS', retryable: false });
    expect(await itemCounts(stack)).toEqual(before);
    // Joining a room it is already in is not a fourth room.
    expect(await join(hopper, 'rl-a')).toMatchObject({ type: 'joined', room: 'rl-a' });
    await hopper.request({ action: 'leave', room: 'rl-b' }, 'left');
    expect(await join(hopper, 'rl-d')).toMatchObject({ type: 'joined', room: 'rl-d' });
    // Another connection of the same user has rooms of its own.
    expect(await join(await connect('hopper'), 'rl-e')).toMatchObject({ type: 'joined', room: 'rl-e' });
  });
});

describe('users per room', () => {
  it('answers a new user past the limit with ROOM_FULL and tells the room nothing; users present may add devices', async () => {
    const [ann, bob, cy] = await Promise.all(['rf-ann', 'rf-bob', 'rf-cy'].map(connect));
    for (const client of [ann, bob, cy]) expect(await join(client as ChatClient, 'rl-full')).toMatchObject({ type: 'joined' });
    const dot = await connect('rf-dot');
    expect(await join(dot, 'rl-full')).toMatchObject({ type: 'error', code: 'ROOM_FULL', retryable: false });
    expect(await join(await connect('rf-ann'), 'rl-full')).toMatchObject({ type: 'joined', memberCount: 3 });
    // A positive control for "nothing": a message sent after the refusal reaches ann, and dot's arrival never did.
    const ack = await (bob as ChatClient).request({ action: 'send', room: 'rl-full', text: 'still three', clientMsgId: 'rf-1' }, 'ack');
    await (ann as ChatClient).next((f) => f.type === 'message' && f.seq === ack.seq);
    expect((ann as ChatClient).ofType('presence').filter((f) => f.user === 'rf-dot')).toEqual([]);
    await (cy as ChatClient).request({ action: 'leave', room: 'rl-full' }, 'left');
    expect(await join(dot, 'rl-full')).toMatchObject({ type: 'joined', memberCount: 3 });
  });
});

describe('typing above the cut-off', () => {
  it('is relayed in a room of 2 users and not once a third has joined, with no error to the typist', async () => {
    const [eve, fay, gus] = (await Promise.all(['ty-eve', 'ty-fay', 'ty-gus'].map(connect))) as [ChatClient, ChatClient, ChatClient];
    for (const client of [eve, fay]) await join(client, 'rl-typing');
    eve.send({ action: 'typing', room: 'rl-typing' });
    await fay.next((f) => f.type === 'typing' && f.user === 'ty-eve');
    expect(await join(gus, 'rl-typing')).toMatchObject({ type: 'joined', memberCount: 3 });
    gus.send({ action: 'typing', room: 'rl-typing' });
    // The positive control: the event was handled and counted as not relayed.
    const notRelayed = () =>
      stack.metrics.stat({ namespace: 'WsChat', name: 'TypingNotRelayed', dimensions: { service: 'wschat', stage: 'dev' } }, 'Sum', 0, Date.now() + 1);
    await expect.poll(notRelayed).toBe(1);
    await gus.request({ action: 'ping' }, 'pong');
    expect([...eve.ofType('typing'), ...fay.ofType('typing')].filter((f) => f.user === 'ty-gus')).toEqual([]);
    expect(gus.ofType('error')).toEqual([]);
  });
});
