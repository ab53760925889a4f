import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionsApiNotifier } from '../../functions/adapters/connections-api.ts';
import { openConnection } from '../../functions/app/connections.ts';
import type { Caller } from '../../functions/app/context.ts';
import { fanOut } from '../../functions/app/fanout.ts';
import { joinRoom } from '../../functions/app/rooms.ts';
import type { ServerFrame } from '../../functions/domain/protocol.ts';
import { FAKE_CREDENTIALS, startDynamo, TEST_REGION, type TestDynamo } from '../support/dynamo.ts';
import { caller, freshRoom, makeDeps } from './harness.ts';

/**
 * A real HTTP server standing in for API Gateway's `@connections` endpoint. How it answers depends on the
 * connection id's prefix: `gone-` → 410 GoneException, `broken-` → 500, anything else → 200.
 */
interface Post {
  method: string;
  url: string;
  connectionId: string;
  body: string;
}

let server: Server;
let endpoint: string;
const posts: Post[] = [];

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const match = /^\/dev\/@connections\/([^/?]+)/.exec(req.url ?? '');
  const connectionId = decodeURIComponent(match?.[1] ?? '');
  posts.push({ method: req.method ?? '', url: req.url ?? '', connectionId, body });
  if (connectionId.startsWith('gone-')) {
    res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' });
    res.end(JSON.stringify({ message: 'Gone' }));
  } else if (connectionId.startsWith('broken-')) {
    res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerErrorException' });
    res.end(JSON.stringify({ message: 'Internal server error' }));
  } else {
    res.writeHead(200);
    res.end();
  }
}

function notifierFor(url: string): { notifier: ConnectionsApiNotifier; client: ApiGatewayManagementApiClient } {
  const client = new ApiGatewayManagementApiClient({
    endpoint: url,
    region: TEST_REGION,
    credentials: FAKE_CREDENTIALS,
    // One attempt: a 500 is counted once instead of after the SDK's retries and backoff.
    maxAttempts: 1,
  });
  return { notifier: new ConnectionsApiNotifier(client), client };
}

let dynamo: TestDynamo;
const clients: ApiGatewayManagementApiClient[] = [];

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
  for (const c of clients) c.destroy();
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
  const { notifier, client } = notifierFor(url);
  clients.push(client);
  return makeDeps(dynamo, notifier);
}

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

    expect(result).toEqual({ delivered: 2, pruned: 0, failed: 0, departures: [] });
    expect(posts.map((p) => p.connectionId).sort()).toEqual(['ok-a', 'ok-b']);
    for (const p of posts) {
      expect(p.method).toBe('POST');
      expect(JSON.parse(p.body)).toEqual(frame(room));
    }
    expect(telemetry.total('MessagesDelivered')).toBe(2);
    expect(telemetry.total('FanoutRecipients')).toBe(2);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(0);
    expect(telemetry.total('DeliveryFailed')).toBe(0);
    expect(telemetry.durations.map((d) => d.metric)).toEqual(['FanoutDuration']);
  });

  it('prunes a connection answered with 410 Gone: its item and all its memberships', async () => {
    const { deps, store, telemetry } = setup();
    const room = freshRoom();
    const otherRoom = freshRoom('second');
    await connect(deps, 'ok-1', 'alice', [room]);
    await connect(deps, 'gone-1', 'bob', [room, otherRoom]);

    const result = await fanOut(deps, room, frame(room), Date.now());

    expect(result.departures).toEqual(
      expect.arrayContaining([
        { room, userId: 'bob' },
        { room: otherRoom, userId: 'bob' },
      ]),
    );
    expect(result).toEqual({ delivered: 1, pruned: 1, failed: 0, departures: expect.any(Array) });
    expect(result.departures).toHaveLength(2);
    expect(posts.filter((p) => p.connectionId === 'gone-1')).toHaveLength(1);
    const { Item } = await dynamo.client.send(
      new GetCommand({ TableName: dynamo.tableNames.connections, Key: { connectionId: 'gone-1' }, ConsistentRead: true }),
    );
    expect(Item).toBeUndefined();
    expect(await store.getMembership(room, 'gone-1', Date.now())).toBeUndefined();
    expect(await store.getMembership(otherRoom, 'gone-1', Date.now())).toBeUndefined();
    expect((await store.listMembers(room, Date.now())).map((m) => m.connectionId)).toEqual(['ok-1']);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(1);
    expect(telemetry.total('DeliveryFailed')).toBe(0);

    // The next message no longer tries the pruned connection.
    posts.length = 0;
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 1, pruned: 0, failed: 0, departures: [] });
    expect(posts.map((p) => p.connectionId)).toEqual(['ok-1']);
  });

  it('counts a 500 as a failed delivery without throwing, keeps the member, and still delivers to the rest', async () => {
    const { deps, store, telemetry } = setup();
    const room = freshRoom();
    await connect(deps, 'ok-x', 'alice', [room]);
    await connect(deps, 'broken-1', 'bob', [room]);
    await connect(deps, 'ok-y', 'carol', [room]);
    await connect(deps, 'gone-2', 'dave', [room]);

    const result = await fanOut(deps, room, frame(room), Date.now());

    expect(result).toEqual({ delivered: 2, pruned: 1, failed: 1, departures: [{ room, userId: 'dave' }] });
    expect(posts.filter((p) => p.connectionId === 'broken-1')).toHaveLength(1);
    expect(posts.filter((p) => p.connectionId.startsWith('ok-')).map((p) => p.connectionId).sort()).toEqual(['ok-x', 'ok-y']);
    expect(await store.getMembership(room, 'broken-1', Date.now())).toBeDefined();
    expect(telemetry.total('DeliveryFailed')).toBe(1);
    expect(telemetry.total('MessagesDelivered')).toBe(2);
    expect(telemetry.total('StaleConnectionsPruned')).toBe(1);
    expect(telemetry.total('FanoutRecipients')).toBe(4);
    expect(telemetry.warnings).toHaveLength(1);
    expect(telemetry.warnings[0]).toMatchObject({
      message: 'delivery failed',
      details: { room, targetConnectionId: 'broken-1' },
    });
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
    expect(await fanOut(deps, room, frame(room), Date.now())).toEqual({ delivered: 1, pruned: 0, failed: 0, departures: [] });
    expect(posts.map((p) => p.connectionId)).toEqual(['ok-live']);
  });

  it('does nothing for an empty room', async () => {
    const { deps, telemetry } = setup();
    expect(await fanOut(deps, freshRoom('empty'), frame('empty'), Date.now())).toEqual({ delivered: 0, pruned: 0, failed: 0, departures: [] });
    expect(posts).toEqual([]);
    expect(telemetry.total('FanoutRecipients')).toBe(0);
  });

  it('survives an endpoint that refuses connections: every post fails, nothing is pruned', async () => {
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
    expect(result).toEqual({ delivered: 0, pruned: 0, failed: 2, departures: [] });
    expect(telemetry.total('DeliveryFailed')).toBe(2);
    expect((await store.listMembers(room, Date.now())).map((m) => m.connectionId).sort()).toEqual(['ok-p', 'ok-q']);
  });
});

describe('ConnectionsApiNotifier', () => {
  it('maps 200 to delivered, 410 to gone, and rethrows anything else', async () => {
    const { notifier, client } = notifierFor(endpoint);
    clients.push(client);
    const f = frame('r');
    await expect(notifier.post('ok-n', f)).resolves.toBe('delivered');
    await expect(notifier.post('gone-n', f)).resolves.toBe('gone');
    const error = await notifier.post('broken-n', f).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'InternalServerErrorException', $metadata: { httpStatusCode: 500 } });
    expect(posts.map((p) => p.url)).toEqual(['/dev/@connections/ok-n', '/dev/@connections/gone-n', '/dev/@connections/broken-n']);
  });
});
