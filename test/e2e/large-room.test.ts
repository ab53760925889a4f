/**
 * End to end on the local stack: a room above the dev stage's async threshold is fanned out in shards by the
 * fan-out function (Lambda async invoke from the plan), every member gets each message exactly once, and a
 * connection a shard finds gone is pruned and its departure announced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { connectionsPerUserInPlan, crowdUser } from '../../local/crowd.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, type Frame } from '../support/ws-client.ts';

const { stack, connect } = useStack(() => bootDevStack());

const ROOM = 'town-hall';

async function joined(user: string): Promise<ChatClient> {
  const client = await connect(user);
  await client.request({ action: 'join', room: ROOM }, 'joined');
  return client;
}

const messagesIn = (client: ChatClient) => client.ofType('message').filter((f: Frame) => f.room === ROOM);
const metric = (name: string) =>
  stack.metrics.stat({ namespace: 'WsChat', name, dimensions: { service: 'wschat', stage: 'dev' } }, 'Sum', 0, Date.now() + 1);

let alice: ChatClient;
let bob: ChatClient;
let dave: ChatClient;
let crowd: ChatClient[];
let crowdUsers: string[];
let threshold: number;
let shardSize: number;

beforeAll(async () => {
  const env = stack.functionEnvironment('wschat-dev-send');
  threshold = Number(env[ENV.fanoutAsyncThreshold]);
  shardSize = Number(env[ENV.fanoutShardSize]);
  alice = await joined('alice');
  bob = await joined('bob');
  dave = await joined('dave');
  // A crowd of users, each with as many connections as one user may hold, fills the room; in batches, as a 2-core
  // machine can take.
  const perUser = connectionsPerUserInPlan(stack);
  crowd = [];
  const fill = threshold + 1 - 3;
  for (let i = 0; i < fill; i += 10) {
    crowd.push(...(await Promise.all(Array.from({ length: Math.min(10, fill - i) }, (_, j) => joined(crowdUser('crowd', i + j, perUser))))));
  }
  crowdUsers = [...new Set(Array.from({ length: fill }, (_, i) => crowdUser('crowd', i, perUser)))];
}, 180_000);

describe('a room above the async threshold', () => {
  it('delivers each message to every member exactly once through shards, and acknowledges it', async () => {
    const members = [alice, bob, dave, ...crowd];
    expect(members.length).toBe(threshold + 1);
    const ack = await alice.request({ action: 'send', room: ROOM, text: 'hello, everyone', clientMsgId: 'town-1' }, 'ack');
    expect(ack).toMatchObject({ type: 'ack', room: ROOM, clientMsgId: 'town-1', seq: 1 });
    await expect.poll(() => members.filter((m) => messagesIn(m).length === 1).length, { timeout: 30_000 }).toBe(members.length);
    for (const m of members) expect(messagesIn(m)).toEqual([{ type: 'message', room: ROOM, seq: 1, id: ack.id, user: 'alice', text: 'hello, everyone', ts: ack.ts }]);
    const shards = Math.ceil(members.length / shardSize);
    expect(metric('FanoutShards')).toBe(shards);
    expect(metric('FanoutRecipients')).toBe(members.length);
    await expect.poll(() => metric('MessagesDelivered'), { timeout: 10_000 }).toBe(members.length);
    expect(stack.printed.filter((line) => line.startsWith('wschat-dev-fanout') && line.includes('INIT'))).not.toHaveLength(0);
  });

  it('prunes a member a shard finds gone and tells the others that its user left', async () => {
    stack.faults.inject({ kind: 'lost-disconnects' });
    dave.ws.terminate();
    await expect.poll(() => dave.closed, { timeout: 5_000 }).toBeDefined();
    stack.faults.clear('lost-disconnects');
    await bob.request({ action: 'send', room: ROOM, text: 'anyone still here?', clientMsgId: 'town-2' }, 'ack');
    await expect.poll(() => alice.ofType('presence').filter((f) => f.user === 'dave' && f.event === 'leave').length, { timeout: 30_000 }).toBe(1);
    const who = await alice.request({ action: 'who', room: ROOM }, 'who');
    expect(who.members).toEqual(['alice', 'bob', ...crowdUsers].sort());
    await expect.poll(() => metric('StaleConnectionsPruned'), { timeout: 10_000 }).toBe(1);
    // Everyone still there got the message once.
    await expect.poll(() => [alice, bob, ...crowd].filter((m) => messagesIn(m).length === 2).length, { timeout: 30_000 }).toBe(crowd.length + 2);
  });
});
