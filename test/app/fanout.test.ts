import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionsApiNotifier } from '../../functions/adapters/connections-api.ts';
import { openConnection } from '../../functions/app/connections.ts';
import type { Caller } from '../../functions/app/context.ts';
import { deliverShard, deliverToRoom, fanOut } from '../../functions/app/fanout.ts';
import type { FanoutDispatcher } from '../../functions/app/ports.ts';
import { MAX_SHARD_CONTINUATIONS, POST_RETRY, type FanoutShard } from '../../functions/domain/fanout.ts';
import { parseFanoutShard } from '../../functions/domain/fanout-shard.ts';
import { SESSION_GRACE_SECONDS } from '../../functions/domain/session.ts';
import { joinRoom } from '../../functions/app/rooms.ts';
import type { ServerFrame } from '../../functions/domain/protocol.ts';
import { FAKE_CREDENTIALS, startDynamo, TEST_REGION, type TestDynamo } from '../support/dynamo.ts';
import { caller, freshRoom, makeDeps } from './harness.ts';

/**
 * A real HTTP server standing in for API Gateway's `@connections` endpoint. How it answers depends on the
 * connection id's prefix: `gone-` → 410 GoneException, `broken-` → 500, `forbidden-` → 403, `busy-` → 429
 * LimitExceededException on its first two posts, `jammed-` → 429 always, anything else → 200.
 */
interface Post {
  method: string;
  url: string;
  connectionId: string;
  body: string;
  headers: IncomingMessage['headers'];
}

let server: Server;
let endpoint: string;
const posts: Post[] = [];

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const match = /^\/dev\/@connections\/([^/?]+)/.exec(req.url ?? '');
  const connectionId = decodeURIComponent(match?.[1] ?? '');
  posts.push({ method: req.method ?? '', url: req.url ?? '', connectionId, body, headers: req.headers });
  if (connectionId.startsWith('gone-')) {
    res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' });
    res.end(JSON.stringify({ message: 'Gone' }));
  } else if (connectionId.startsWith('broken-')) {
    res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerErrorException' });
    res.end(JSON.stringify({ message: 'Internal server error' }));
  } else if (connectionId.startsWith('forbidden-')) {
    res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'ForbiddenException' });
    res.end(JSON.stringify({ message: 'Forbidden' }));
  } else if (
    connectionId.startsWith('jammed-') ||
    (connectionId.startsWith('busy-') && posts.filter((p) => p.connectionId === connectionId).length <= 2)
  ) {
    res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'LimitExceededException' });
    res.end(JSON.stringify({ message: 'Rate exceeded' }));
  } else {
    res.writeHead(200);
    res.end();
  }
}

function notifierFor(url: string): { notifier: ConnectionsApiNotifier } {
  return { notifier: new ConnectionsApiNotifier({ endpoint: url, region: TEST_REGION, credentials: async () => FAKE_CREDENTIALS }) };
}

let dynamo: TestDynamo;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dev`;
  dynamo = await startDynamo('fanout');
});

afterAll(async () => {
  await dynamo?.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
});

beforeEach(() => {
  posts.length = 0;
});

function setup(url = endpoint) {
  return makeDeps(dynamo, notifierFor(url).notifier);
}

/** Deps whose large rooms (above `threshold`) go to a dispatcher that records the shards. */
function setupLargeRooms(threshold: number, shardSize: number) {
  const base = setup();
  const shards: FanoutShard[] = [];
  const dispatcher: FanoutDispatcher = { dispatch: async (shard) => void shards.push(shard) };
  const deps = { ...base.deps, fanout: { ...base.deps.fanout, largeRooms: { threshold, shardSize, dispatcher } } };
  return { ...base, deps, shards };
}

const none = { leftovers: [], departures: [], gone: [], shards: 0 };

/** Opens a connection and joins `rooms` through the real use cases. */
async function connect(deps: ReturnType<typeof setup>['deps'], connectionId: string, userId: string, rooms: string[]) {
  const c: Caller = caller(userId, connectionId);
  await openConnection(deps, c);
  for (const room of rooms) await joinRoom(deps, c, { room });
  return c;
}

const frame = (room: string): ServerFrame => ({
  type: 'message',
  room,
  seq: 1,
  id: 'msg-1',
  user: 'alice',
  text: 'hello everyone',
  ts: 1_700_000_000_000,
});

describe('fanOut', () => {
  it('posts the frame to every member through @connections', async () => {
    const { deps, telemetry } = setup();
    const room = freshRoom();
    await connect(deps, 'ok-a', 'alice', [room]);
    await connect(deps, 'ok-b', 'bob', [room]);
    await connect(deps, 'ok-outsider', 'carol', [freshRoom('other')]);

    const result = await fanOut(deps, room, frame(room), Date.now());

    expect(result).toEqual({ delivered: 2, pruned: 0, failed: 0, ...none });
    expect(posts.map((p) => p.connectionId).sort()).toEqual(['ok-a', 'ok-b']);
    for (const p of posts) {
      expect(p.method).toBe('POST');
      expect(JSON.parse(p.body)).toEqual(frame(room));
    }
    expect(telemetry.total('MessagesDelivered')).toBe(2);
    expect(telemetry.total('FanoutRecipients')).toBe(2);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(0);
    expect(telemetry.total('DeliveryFailed')).toBe(0);
    expect(telemetry.durations.map(({ metric, about }) => ({ metric, about }))).toEqual([{ metric: 'FanoutDuration', about: { room, recipients: '2' } }]);
  });

  it('prunes a connection answered with 410 Gone from the room being delivered to, and leaves its other rooms for later', async () => {
    const { deps, store, telemetry } = setup();
    const room = freshRoom();
    const otherRoom = freshRoom('second');
    await connect(deps, 'ok-1', 'alice', [room]);
    await connect(deps, 'gone-1', 'bob', [room, otherRoom]);

    const result = await fanOut(deps, room, frame(room), Date.now());

    // Bounded work on the sender's path: this room only, whatever else the gone connection had joined.
    expect(result).toEqual({ delivered: 1, pruned: 1, failed: 0, ...none, departures: [{ room, userId: 'bob' }], gone: [{ connectionId: 'gone-1', userId: 'bob' }] });
    expect(posts.filter((p) => p.connectionId === 'gone-1')).toHaveLength(1);
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: dynamo.tableNames.connections, Key: { connectionId: 'gone-1' }, ConsistentRead: true }),
    );
    expect(Item).toBeUndefined();
    expect(await store.getMembership(room, 'gone-1', Date.now())).toBeUndefined();
    expect(await store.getMembership(otherRoom, 'gone-1', Date.now())).toBeDefined();
    expect((await store.listMembers(room, Date.now())).map((m) => m.connectionId)).toEqual(['ok-1']);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(1);
    expect(telemetry.total('DeliveryFailed')).toBe(0);

    // The next message no longer tries the pruned connection.
    posts.length = 0;
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 1, pruned: 0, failed: 0, ...none });
    expect(posts.map((p) => p.connectionId)).toEqual(['ok-1']);
  });

  it('cleans up the other rooms of a gone connection, and announces its departures, only when settled', async () => {
    const { deps, store } = setup();
    const room = freshRoom();
    const otherRoom = freshRoom('second');
    await connect(deps, 'ok-2', 'alice', [room]);
    await connect(deps, 'ok-3', 'carol', [otherRoom]);
    await connect(deps, 'gone-3', 'bob', [room, otherRoom]);
    posts.length = 0;

    const settle = await deliverToRoom(deps, room, frame(room), Date.now());

    // Delivered (the sender could be answered now); nothing of the cleanup has happened yet.
    expect(posts.map((p) => p.connectionId).sort()).toEqual(['gone-3', 'ok-2']);
    expect(await store.getMembership(otherRoom, 'gone-3', Date.now())).toBeDefined();
    await settle();
    expect(await store.getMembership(otherRoom, 'gone-3', Date.now())).toBeUndefined();
    const leaves = posts.filter((p) => JSON.parse(p.body).type === 'presence').map((p) => [p.connectionId, JSON.parse(p.body)]);
    expect(leaves).toEqual(
      expect.arrayContaining([
        ['ok-2', { type: 'presence', room, user: 'bob', event: 'leave' }],
        ['ok-3', { type: 'presence', room: otherRoom, user: 'bob', event: 'leave' }],
      ]),
    );
    expect(leaves).toHaveLength(2);
  });

  it('retries a 500 with backoff, then counts it as failed without throwing, keeps the member, and delivers to the rest', async () => {
    const { deps, store, telemetry } = setup();
    const room = freshRoom();
    await connect(deps, 'ok-x', 'alice', [room]);
    await connect(deps, 'broken-1', 'bob', [room]);
    await connect(deps, 'ok-y', 'carol', [room]);
    await connect(deps, 'gone-2', 'dave', [room]);

    const result = await fanOut(deps, room, frame(room), Date.now());

    expect(result).toEqual({
      delivered: 2,
      pruned: 1,
      failed: 0,
      leftovers: [{ connectionId: 'broken-1', userId: 'bob' }],
      departures: [{ room, userId: 'dave' }],
      gone: [{ connectionId: 'gone-2', userId: 'dave' }],
      shards: 0,
    });
    expect(posts.filter((p) => p.connectionId === 'broken-1')).toHaveLength(POST_RETRY.attempts);
    expect(posts.filter((p) => p.connectionId.startsWith('ok-')).map((p) => p.connectionId).sort()).toEqual(['ok-x', 'ok-y']);
    expect(await store.getMembership(room, 'broken-1', Date.now())).toBeDefined();
    expect(telemetry.total('DeliveryFailed')).toBe(1);
    expect(telemetry.total('MessagesDelivered')).toBe(2);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(1);
    expect(telemetry.total('FanoutRecipients')).toBe(4);
    expect(telemetry.warnings).toEqual([
      { message: 'recipients not reached', details: { room, recipients: 1, reason: `still throttled or failing after ${POST_RETRY.attempts} tries` } },
    ]);
  });

  it('does not retry a failure that cannot pass (403): counted and logged once', async () => {
    const { deps, telemetry } = setup();
    const room = freshRoom();
    await connect(deps, 'forbidden-1', 'bob', [room]);
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 0, pruned: 0, failed: 1, ...none });
    expect(posts.filter((p) => p.connectionId === 'forbidden-1')).toHaveLength(1);
    expect(telemetry.total('DeliveryFailed')).toBe(1);
    expect(telemetry.warnings).toEqual([{ message: 'delivery failed', details: { room, targetConnectionId: 'forbidden-1', error: expect.stringContaining('Forbidden') } }]);
  });

  it('backs off on LimitExceeded (429) and delivers once the throttle lets the post through', async () => {
    const { deps, telemetry } = setup();
    const room = freshRoom();
    await connect(deps, 'busy-1', 'bob', [room]);
    await connect(deps, 'ok-calm', 'carol', [room]);
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 2, pruned: 0, failed: 0, ...none });
    expect(posts.filter((p) => p.connectionId === 'busy-1')).toHaveLength(3);
    expect(telemetry.total('DeliveryFailed')).toBe(0);
  });

  it('skips memberships that have expired', async () => {
    const { deps, store } = setup();
    const room = freshRoom();
    await connect(deps, 'ok-live', 'alice', [room]);
    await store.putMembership({
      room,
      connectionId: 'ok-expired',
      userId: 'bob',
      joinedAt: 0,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 1, pruned: 0, failed: 0, ...none });
    expect(posts.map((p) => p.connectionId)).toEqual(['ok-live']);
  });

  it("closes a member whose token ended over the grace period ago instead of posting to it; one whose session lasts gets the frame", async () => {
    const { deps, telemetry } = setup();
    const room = freshRoom();
    const nowSeconds = Math.floor(Date.now() / 1000);
    // Joined with tokens: one expired (SESSION_GRACE_SECONDS + 1) s ago, one expiring 5 s ago (still in its grace).
    const ended = { ...caller('bob', 'ok-ended'), tokenExpiresAt: nowSeconds - SESSION_GRACE_SECONDS - 1 };
    const grace = { ...caller('cy', 'ok-grace'), tokenExpiresAt: nowSeconds - 5 };
    for (const c of [ended, grace]) {
      await openConnection(deps, c);
      await joinRoom(deps, c, { room });
    }
    await connect(deps, 'ok-plain', 'alice', [room]);
    posts.length = 0;

    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 2, pruned: 0, failed: 0, ...none });
    expect(posts.map((p) => `${p.method} ${p.connectionId}`).sort()).toEqual(['DELETE ok-ended', 'POST ok-grace', 'POST ok-plain']);
    expect(telemetry.total('SessionsExpired')).toBe(1);
  });

  it('counts no ended session for a connection already gone, and warns without failing when the close fails', async () => {
    const { deps, telemetry } = setup();
    const room = freshRoom();
    const long = Math.floor(Date.now() / 1000) - SESSION_GRACE_SECONDS - 60;
    for (const id of ['gone-ended', 'broken-ended']) {
      const c = { ...caller(id, id), tokenExpiresAt: long };
      await openConnection(deps, c);
      await joinRoom(deps, c, { room });
    }
    posts.length = 0;

    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 0, pruned: 0, failed: 0, ...none });
    expect(posts.map((p) => `${p.method} ${p.connectionId}`).sort()).toEqual(['DELETE broken-ended', 'DELETE gone-ended']);
    expect(telemetry.total('SessionsExpired')).toBe(0);
    expect(telemetry.warnings).toEqual([expect.objectContaining({ message: 'could not close a connection whose session ended' })]);
  });

  it('does nothing for an empty room', async () => {
    const { deps, telemetry } = setup();
    expect(await fanOut(deps, freshRoom('empty'), frame('empty'), Date.now())).toEqual({ delivered: 0, pruned: 0, failed: 0, ...none });
    expect(posts).toEqual([]);
    expect(telemetry.total('FanoutRecipients')).toBe(0);
  });

  it('survives an endpoint that refuses connections: every post is retried and fails, nothing is pruned', async () => {
    // A port that was just released: connections to it are refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { deps: good } = setup();
    const room = freshRoom('down');
    await connect(good, 'ok-p', 'alice', [room]);
    await connect(good, 'ok-q', 'bob', [room]);

    const { deps, store, telemetry } = setup(`http://127.0.0.1:${port}/dev`);
    const result = await fanOut(deps, room, frame(room), Date.now());
    expect(result).toMatchObject({ delivered: 0, pruned: 0, failed: 0, departures: [] });
    expect(result.leftovers.map((r) => r.connectionId).sort()).toEqual(['ok-p', 'ok-q']);
    expect(telemetry.total('DeliveryFailed')).toBe(2);
    expect((await store.listMembers(room, Date.now())).map((m) => m.connectionId).sort()).toEqual(['ok-p', 'ok-q']);
  });
});

describe('large rooms', () => {
  it('cuts a room above the threshold into shards for the fan-out function and posts nothing itself', async () => {
    const { deps, telemetry, shards } = setupLargeRooms(4, 2);
    const room = freshRoom('large');
    for (const n of [1, 2, 3, 4, 5]) await connect(deps, `ok-l${n}`, `user${n}`, [room]);
    posts.length = 0;
    const now = Date.now();

    expect(await fanOut(deps, room, frame(room), now)).toEqual({ delivered: 0, pruned: 0, failed: 0, leftovers: [], departures: [], gone: [], shards: 3 });

    expect(posts).toEqual([]);
    expect(shards.map((s) => s.recipients.length).sort()).toEqual([1, 2, 2]);
    expect(shards.flatMap((s) => s.recipients.map((r) => r.connectionId)).sort()).toEqual(['ok-l1', 'ok-l2', 'ok-l3', 'ok-l4', 'ok-l5']);
    for (const shard of shards) expect(shard).toMatchObject({ room, frame: frame(room), attempt: 0, startedAt: now });
    expect(telemetry.total('FanoutShards')).toBe(3);
    expect(telemetry.total('FanoutRecipients')).toBe(5);
    expect(telemetry.total('MessagesDelivered')).toBe(0);
  });

  it("hands each recipient's session end to its shard, where the fan-out function closes it instead of posting", async () => {
    const { deps, shards } = setupLargeRooms(1, 1);
    const room = freshRoom('large');
    const endedAt = Math.floor(Date.now() / 1000) - SESSION_GRACE_SECONDS - 1;
    const c = { ...caller('dan', 'ok-shard-ended'), tokenExpiresAt: endedAt };
    await openConnection(deps, c);
    await joinRoom(deps, c, { room });
    await connect(deps, 'ok-shard-plain', 'eve', [room]);
    posts.length = 0;

    await fanOut(deps, room, frame(room), Date.now());
    const recipients = shards.flatMap((s) => s.recipients);
    expect(recipients).toEqual(
      expect.arrayContaining([
        { connectionId: 'ok-shard-ended', userId: 'dan', sessionEndsAt: endedAt + SESSION_GRACE_SECONDS },
        { connectionId: 'ok-shard-plain', userId: 'eve' },
      ]),
    );
    for (const shard of shards) await deliverShard(deps, parseFanoutShard(JSON.parse(JSON.stringify(shard))), () => true);
    expect(posts.map((p) => `${p.method} ${p.connectionId}`).sort()).toEqual(['DELETE ok-shard-ended', 'POST ok-shard-plain']);
  });

  it('delivers a room at the threshold itself', async () => {
    const { deps, shards } = setupLargeRooms(2, 1);
    const room = freshRoom('at-threshold');
    await connect(deps, 'ok-t1', 'alice', [room]);
    await connect(deps, 'ok-t2', 'bob', [room]);
    expect(await fanOut(deps, room, frame(room), Date.now())).toMatchObject({ delivered: 2, shards: 0 });
    expect(shards).toEqual([]);
  });

  it('fails the caller when a shard cannot be handed over, so its retry fans out again', async () => {
    const base = setup();
    const dispatcher: FanoutDispatcher = {
      dispatch: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      },
    };
    const deps = { ...base.deps, fanout: { ...base.deps.fanout, largeRooms: { threshold: 1, shardSize: 1, dispatcher } } };
    const room = freshRoom('undispatchable');
    await connect(deps, 'ok-u1', 'alice', [room]);
    await connect(deps, 'ok-u2', 'bob', [room]);
    await expect(fanOut(deps, room, frame(room), Date.now())).rejects.toMatchObject({ name: 'TooManyRequestsException' });
  });
});

describe('deliverShard', () => {
  const shardOf = (room: string, recipients: FanoutShard['recipients'], attempt = 0): FanoutShard => ({
    room,
    frame: frame(room),
    recipients,
    attempt,
    startedAt: Date.now(),
  });

  it('delivers, prunes, announces departures, and hands throttled leftovers to a continuation', async () => {
    const { deps, telemetry, shards, store } = setupLargeRooms(100, 100);
    const room = freshRoom('shard');
    await connect(deps, 'ok-s1', 'alice', [room]);
    await connect(deps, 'gone-s2', 'bob', [room]);
    await connect(deps, 'jammed-s3', 'carol', [room]);
    posts.length = 0;
    const recipients = [
      { connectionId: 'ok-s1', userId: 'alice' },
      { connectionId: 'gone-s2', userId: 'bob' },
      { connectionId: 'jammed-s3', userId: 'carol' },
    ];

    await deliverShard(deps, shardOf(room, recipients), () => true);
    // The shard's duration names its room and size: the slow-fanouts query shows both on the shard's line.
    expect(telemetry.durations.map(({ metric, about }) => ({ metric, about }))).toEqual([{ metric: 'FanoutDuration', about: { room, recipients: '3' } }]);

    expect(shards).toEqual([{ ...shardOf(room, [{ connectionId: 'jammed-s3', userId: 'carol' }], 1), startedAt: expect.any(Number) }]);
    const messagePosts = posts.filter((p) => JSON.parse(p.body).type === 'message');
    expect(messagePosts.filter((p) => p.connectionId === 'jammed-s3')).toHaveLength(POST_RETRY.attempts);
    expect(await store.getMembership(room, 'gone-s2', Date.now())).toBeUndefined();
    // bob's departure is announced to the rest of the room (alice and carol).
    const leave = posts.filter((p) => JSON.parse(p.body).type === 'presence');
    expect([...new Set(leave.map((p) => p.connectionId))].sort()).toEqual(['jammed-s3', 'ok-s1']);
    expect(JSON.parse((leave[0] as Post).body)).toEqual({ type: 'presence', room, user: 'bob', event: 'leave' });
    expect(telemetry.total('MessagesDelivered')).toBe(1);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(1);
    expect(telemetry.total('FanoutShards')).toBe(1);
    // The room's recipients were counted where the fan-out started, not per shard.
    expect(telemetry.total('FanoutRecipients')).toBe(0);
    // The presence frame to carol, a small room's broadcast made here, has no continuation: it failed.
    expect(telemetry.total('DeliveryFailed')).toBe(1);
  });

  it('counts leftovers as failed after the last continuation', async () => {
    const { deps, telemetry, shards } = setupLargeRooms(100, 100);
    const room = freshRoom('last-try');
    await deliverShard(deps, shardOf(room, [{ connectionId: 'jammed-z', userId: 'zoe' }], MAX_SHARD_CONTINUATIONS), () => true);
    expect(shards).toEqual([]);
    expect(telemetry.total('DeliveryFailed')).toBe(1);
    expect(telemetry.warnings).toEqual([
      { message: 'recipients not reached', details: { room, recipients: 1, reason: `still unreachable after ${MAX_SHARD_CONTINUATIONS} continuations` } },
    ]);
  });

  it('starts no post once time runs out: every recipient goes to the continuation untried', async () => {
    const { deps, shards } = setupLargeRooms(100, 100);
    const room = freshRoom('late');
    const recipients = [
      { connectionId: 'ok-late1', userId: 'alice' },
      { connectionId: 'ok-late2', userId: 'bob' },
    ];
    await deliverShard(deps, shardOf(room, recipients), () => false);
    expect(posts).toEqual([]);
    expect(shards.map((s) => [s.attempt, s.recipients])).toEqual([[1, recipients]]);
  });
});

describe('ConnectionsApiNotifier', () => {
  it('maps 200 to delivered, 410 to gone, 429 to throttled, and rethrows anything else', async () => {
    const { notifier } = notifierFor(endpoint);
    const f = frame('r');
    await expect(notifier.post('ok-n', f)).resolves.toBe('delivered');
    await expect(notifier.post('gone-n', f)).resolves.toBe('gone');
    await expect(notifier.post('jammed-n', f)).resolves.toBe('throttled');
    const error = await notifier.post('broken-n', f).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'InternalServerErrorException', $metadata: { httpStatusCode: 500 } });
    expect(posts.map((p) => p.url)).toEqual([
      '/dev/@connections/ok-n',
      '/dev/@connections/gone-n',
      '/dev/@connections/jammed-n',
      '/dev/@connections/broken-n',
    ]);
  });

  it("sends the invocation's trace header unsigned in Lambda, as the SDK does, and none outside Lambda", async () => {
    const { notifier } = notifierFor(endpoint);
    const saved = { name: process.env.AWS_LAMBDA_FUNCTION_NAME, trace: process.env._X_AMZN_TRACE_ID };
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    try {
      process.env.AWS_LAMBDA_FUNCTION_NAME = 'wschat-dev-fanout';
      process.env._X_AMZN_TRACE_ID = trace;
      await notifier.post('ok-traced', frame('r'));
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      await notifier.post('ok-untraced', frame('r'));
    } finally {
      for (const [key, value] of [['AWS_LAMBDA_FUNCTION_NAME', saved.name], ['_X_AMZN_TRACE_ID', saved.trace]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    const [traced, untraced] = posts;
    expect(traced?.headers['x-amzn-trace-id']).toBe(trace);
    // SigV4 leaves the trace header out of the signature, as AWS's signers do.
    expect(traced?.headers.authorization).toMatch(/SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date,/);
    expect(untraced?.connectionId).toBe('ok-untraced');
    expect(untraced?.headers['x-amzn-trace-id']).toBeUndefined();
  });
});
