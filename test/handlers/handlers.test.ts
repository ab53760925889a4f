/**
 * The handlers themselves (TypeScript sources, Powertools middleware included) against dynalite and a real
 * HTTP server standing in for the @connections endpoint: what each route posts, and its failure paths.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { SESSION_GRACE_SECONDS } from '../../functions/domain/session.ts';
import { TABLE_KEYS, tableEnvVar } from '../../functions/catalog/tables.ts';
import type { ApiModel } from '../../local/gateway/api-model.ts';
import { connectEvent, disconnectEvent, messageEvent, type ConnectionInfo } from '../../local/gateway/events.ts';
import { FAKE_CREDENTIALS, startDynamo, TEST_REGION, type TestDynamo } from '../support/dynamo.ts';

type Handler = (event: unknown, context: Context) => Promise<{ statusCode: number }>;
type Posted = { connectionId: string; frame: Record<string, unknown> };

let dynamo: TestDynamo;
let dynamoRunning = false;
let connectionsApi: Server;
const posted: Posted[] = [];
const goneConnections = new Set<string>();
/** Connections whose next posts are answered 429 LimitExceededException (the account's callback throttle), by count. */
const throttledPosts = new Map<string, number>();
/**
 * Connections whose posts of anything but an error frame are answered 413 PayloadTooLargeException, as API
 * Gateway answers a post over 128 KB. Injected: every reply is cut to fit, so no route can produce one.
 */
const refusedAsTooLarge = new Set<string>();
/** Connections closed through DELETE @connections, in order. */
const deleted: string[] = [];
type MessageRouteName = 'join' | 'leave' | 'send' | 'history' | 'who' | 'typing' | 'ping';
let handlers: Record<MessageRouteName | 'connect' | 'disconnect', Handler>;

const api: ApiModel = { apiId: 'testapi001', region: TEST_REGION, stage: 'dev', routeSelectionPath: ['action'], routes: new Map() };
const context = {
  functionName: 'test',
  awsRequestId: 'req',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

function connection(userId: string | undefined, connectionId: string, tokenExpiresAt?: number): ConnectionInfo {
  return {
    connectionId,
    connectedAt: Date.now(),
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    domainName: 'localhost',
    authorizer: userId ? { userId, principalId: userId, ...(tokenExpiresAt === undefined ? {} : { tokenExpiresAt }) } : undefined,
  };
}

async function call(name: MessageRouteName, conn: ConnectionInfo, frame: unknown) {
  const event = messageEvent(api, conn, name, JSON.stringify(frame), false);
  return { result: await handlers[name](event, context), requestId: event.requestContext.requestId };
}

const postsTo = (connectionId: string) => posted.filter((p) => p.connectionId === connectionId).map((p) => p.frame);

beforeAll(async () => {
  dynamo = await startDynamo('handlers');
  dynamoRunning = true;
  connectionsApi = createServer((req, res) => {
    const connectionId = decodeURIComponent((req.url ?? '').split('/@connections/')[1] ?? '');
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'DELETE') {
        deleted.push(connectionId);
        res.writeHead(204).end();
        return;
      }
      if (goneConnections.has(connectionId)) {
        res.writeHead(410, { 'x-amzn-errortype': 'GoneException' }).end('{"message":"gone"}');
        return;
      }
      const throttled = throttledPosts.get(connectionId) ?? 0;
      if (throttled > 0) {
        throttledPosts.set(connectionId, throttled - 1);
        res.writeHead(429, { 'x-amzn-errortype': 'LimitExceededException' }).end('{"message":"Rate exceeded"}');
        return;
      }
      const frame = JSON.parse(body) as Record<string, unknown>;
      if (refusedAsTooLarge.has(connectionId) && frame.type !== 'error') {
        res.writeHead(413, { 'x-amzn-errortype': 'PayloadTooLargeException' }).end('{"message":"Message too large"}');
        return;
      }
      posted.push({ connectionId, frame });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => connectionsApi.listen(0, '127.0.0.1', resolve));
  const { port } = connectionsApi.address() as AddressInfo;

  // What Lambda and the plan would set; the handlers read it when their modules load.
  Object.assign(process.env, {
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_MAX_ATTEMPTS: '1',
    [ENV.connectionsEndpoint]: `http://127.0.0.1:${port}/dev`,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // A small send rate limit read from the environment, as a stage would configure it.
    [ENV.sendRateLimit]: '4',
    [ENV.sendRateWindowMs]: '60000',
    ...Object.fromEntries(TABLE_KEYS.map((t) => [tableEnvVar(t), dynamo.tableNames[t]])),
  });
  handlers = {
    connect: (await import('../../functions/handlers/connect.ts')).handler as unknown as Handler,
    join: (await import('../../functions/handlers/join.ts')).handler as unknown as Handler,
    send: (await import('../../functions/handlers/send.ts')).handler as unknown as Handler,
    history: (await import('../../functions/handlers/history.ts')).handler as unknown as Handler,
    leave: (await import('../../functions/handlers/leave.ts')).handler as unknown as Handler,
    who: (await import('../../functions/handlers/who.ts')).handler as unknown as Handler,
    typing: (await import('../../functions/handlers/typing.ts')).handler as unknown as Handler,
    ping: (await import('../../functions/handlers/ping.ts')).handler as unknown as Handler,
    disconnect: (await import('../../functions/handlers/disconnect.ts')).handler as unknown as Handler,
  };
});

afterAll(async () => {
  await new Promise((resolve) => connectionsApi.close(resolve));
  if (dynamoRunning) await dynamo.close();
});

describe('message routes', () => {
  const ann = connection('ann', 'conn-ann=');
  const ben = connection('ben', 'conn-ben=');

  it('retries a reply the callback throttle refused, so the caller still gets it', async () => {
    const cy = connection('cy', 'conn-cy=');
    throttledPosts.set(cy.connectionId, 2);
    await call('ping', cy, { action: 'ping' });
    expect(throttledPosts.get(cy.connectionId)).toBe(0);
    expect(postsTo(cy.connectionId)).toEqual([{ type: 'pong', ts: expect.any(Number) }]);
  });

  it('answers with a TOO_LARGE error when @connections refuses the reply as too large, never with silence', async () => {
    const dee = connection('dee', 'conn-dee=');
    await call('join', dee, { action: 'join', room: 'big1' });
    refusedAsTooLarge.add(dee.connectionId);
    const { requestId } = await call('who', dee, { action: 'who', room: 'big1' });
    expect(postsTo(dee.connectionId).at(-1)).toEqual({
      type: 'error',
      code: 'TOO_LARGE',
      message: expect.stringMatching(/^the who reply \(\d+ bytes\) is over the 131072 bytes a WebSocket message may carry/),
      requestId,
      retryable: false,
    });
  });

  it('fans the message out to every member, the sender included, and then acks the sender', async () => {
    await call('join', ann, { action: 'join', room: 'h1' });
    await call('join', ben, { action: 'join', room: 'h1' });
    expect(postsTo(ben.connectionId)[0]).toEqual({ type: 'joined', room: 'h1', lastSeq: 0, members: ['ann', 'ben'], memberCount: 2 });

    const { result } = await call('send', ann, { action: 'send', room: 'h1', text: 'hi', clientMsgId: 'k1' });
    expect(result.statusCode).toBe(200);
    const annFrames = postsTo(ann.connectionId);
    const ack = annFrames.find((f) => f.type === 'ack');
    const ackIndex = annFrames.indexOf(ack as Record<string, unknown>);
    expect(ack).toMatchObject({ room: 'h1', clientMsgId: 'k1', seq: 1 });
    expect(annFrames.findIndex((f) => f.type === 'message')).toBeLessThan(ackIndex);
    expect(postsTo(ben.connectionId).filter((f) => f.type === 'message')).toEqual([
      { type: 'message', room: 'h1', seq: 1, id: ack?.id, user: 'ann', text: 'hi', ts: ack?.ts },
    ]);
  });

  it('prunes a member whose connection is gone and still acks the sender', async () => {
    const gone = connection('gus', 'conn-gus=');
    await call('join', gone, { action: 'join', room: 'h1' });
    goneConnections.add(gone.connectionId);
    await call('send', ann, { action: 'send', room: 'h1', text: 'anyone?', clientMsgId: 'k2' });
    expect(postsTo(ann.connectionId).some((f) => f.type === 'ack' && f.clientMsgId === 'k2')).toBe(true);
    const { Items } = await dynamo.raw.send(
      new (await import('@aws-sdk/client-dynamodb')).ScanCommand({ TableName: dynamo.tableNames.memberships }),
    );
    expect(Items?.some((m) => m.connectionId?.S === gone.connectionId)).toBe(false);
  });

  it('answers a route reached without authorizer context with a non-retryable INTERNAL error', async () => {
    const anonymous = connection(undefined, 'conn-anon=');
    const { result, requestId } = await call('history', anonymous, { action: 'history', room: 'h1' });
    expect(result.statusCode).toBe(200);
    expect(postsTo(anonymous.connectionId)).toEqual([
      { type: 'error', code: 'INTERNAL', message: 'internal error', requestId, retryable: false },
    ]);
  });

  it("reads the token's room scope from the authorizer context: joins outside it are FORBIDDEN, inside it joined", async () => {
    const scoped = connection('sam', 'conn-sam=');
    (scoped.authorizer as Record<string, unknown>).rooms = JSON.stringify(['team-*']);
    const refused = await call('join', scoped, { action: 'join', room: 'general-scope' });
    await call('join', scoped, { action: 'join', room: 'team-a' });
    expect(postsTo(scoped.connectionId)).toEqual([
      { type: 'error', code: 'FORBIDDEN', message: 'you may not join room general-scope', requestId: refused.requestId, retryable: false },
      expect.objectContaining({ type: 'joined', room: 'team-a', members: ['sam'] }),
    ]);
  });

  it('answers INTERNAL, never an unscoped join, when the context carries a room scope it cannot read', async () => {
    const broken = connection('sid', 'conn-sid=');
    (broken.authorizer as Record<string, unknown>).rooms = 'team-*';
    const { requestId } = await call('join', broken, { action: 'join', room: 'team-b' });
    expect(postsTo(broken.connectionId)).toEqual([
      { type: 'error', code: 'INTERNAL', message: 'internal error', requestId, retryable: false },
    ]);
  });

  it('completes the invocation when the reply cannot be posted', async () => {
    const vanished = connection('val', 'conn-val=');
    goneConnections.add(vanished.connectionId);
    const { result } = await call('history', vanished, { action: 'history', room: 'h1' });
    expect(result.statusCode).toBe(200);
  });
});

describe('prototype keys in frames', () => {
  // The handlers' own code, in this process: in the local stack they run in worker threads the test cannot see into.
  it('never reach Object.prototype, on any route, whether the frame is valid otherwise or not', async () => {
    const zoe = connection('zoe', 'conn-zoe=');
    await call('join', zoe, { action: 'join', room: 'proto' });
    const routes: MessageRouteName[] = ['join', 'leave', 'send', 'history', 'who', 'typing', 'ping'];
    for (const route of routes) {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        for (const room of ['proto', '-bad']) {
          const body = `{"action":"${route}","room":"${room}","text":"t","clientMsgId":"c-${route}-${key}","${key}":{"isAdmin":true,"polluted":1}}`;
          await handlers[route](messageEvent(api, zoe, route, body, false), context);
        }
      }
    }
    // A positive control: the frames were handled (replies were posted for every one of them).
    expect(postsTo(zoe.connectionId).length).toBeGreaterThanOrEqual(routes.length * 6);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('presence, who, typing, resume, heartbeat and the rate limit', () => {
  const pam = connection('pam', 'conn-pam=');
  const pamPhone = connection('pam', 'conn-pam-phone=');
  const rex = connection('rex', 'conn-rex=');

  it('posts joined, then the resumed history page, then tells the others the user arrived', async () => {
    await call('join', rex, { action: 'join', room: 'p1' });
    await call('send', rex, { action: 'send', room: 'p1', text: 'one', clientMsgId: 'r1' });
    await call('send', rex, { action: 'send', room: 'p1', text: 'two', clientMsgId: 'r2' });

    await call('join', pam, { action: 'join', room: 'p1', afterSeq: 1 });
    const [joined, history] = postsTo(pam.connectionId);
    expect(joined).toEqual({ type: 'joined', room: 'p1', lastSeq: 2, members: ['pam', 'rex'], memberCount: 2 });
    expect(history).toMatchObject({ type: 'history', room: 'p1', hasMore: false, messages: [{ seq: 2, text: 'two' }] });
    expect(postsTo(rex.connectionId).at(-1)).toEqual({ type: 'presence', room: 'p1', user: 'pam', event: 'join' });
  });

  it("announces nothing for the user's second connection, and answers who", async () => {
    const before = posted.length;
    await call('join', pamPhone, { action: 'join', room: 'p1' });
    expect(posted.slice(before).map((p) => p.connectionId)).toEqual([pamPhone.connectionId]);
    await call('who', rex, { action: 'who', room: 'p1' });
    expect(postsTo(rex.connectionId).at(-1)).toEqual({ type: 'who', room: 'p1', members: ['pam', 'rex'], memberCount: 2, hasMore: false });
  });

  it("relays typing to the other users only, with no reply to the sender or the user's other connection", async () => {
    const before = posted.length;
    const { result } = await call('typing', pam, { action: 'typing', room: 'p1' });
    expect(result.statusCode).toBe(200);
    expect(posted.slice(before)).toEqual([{ connectionId: rex.connectionId, frame: { type: 'typing', room: 'p1', user: 'pam' } }]);
    // A second signal within 2 s is dropped without a word.
    await call('typing', pam, { action: 'typing', room: 'p1' });
    expect(posted.slice(before)).toHaveLength(1);
  });

  it('answers ping with pong and refreshes the connection item', async () => {
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    await call('ping', pam, { action: 'ping' });
    expect(postsTo(pam.connectionId).at(-1)).toMatchObject({ type: 'pong' });
    const { Items } = await dynamo.raw.send(new ScanCommand({ TableName: dynamo.tableNames.connections }));
    const item = Items?.find((i) => i.connectionId?.S === pam.connectionId);
    expect(Number(item?.lastSeen?.N)).toBe(postsTo(pam.connectionId).at(-1)?.ts);
  });

  it('announces a leave only when the last connection of the user goes ($disconnect, then leave)', async () => {
    const before = posted.length;
    const disconnect = disconnectEvent(api, pamPhone, 1000, 'bye');
    expect((await handlers.disconnect(disconnect, context)).statusCode).toBe(200);
    expect(posted.slice(before)).toEqual([]);
    await call('leave', pam, { action: 'leave', room: 'p1' });
    expect(postsTo(pam.connectionId).at(-1)).toEqual({ type: 'left', room: 'p1' });
    expect(postsTo(rex.connectionId).at(-1)).toEqual({ type: 'presence', room: 'p1', user: 'pam', event: 'leave' });
  });

  it('refuses sends over SEND_RATE_LIMIT with a RATE_LIMITED frame carrying retryAfterMs and the clientMsgId', async () => {
    const sam = connection('sam', 'conn-sam=');
    await call('join', sam, { action: 'join', room: 'p2' });
    for (let i = 1; i <= 4; i++) await call('send', sam, { action: 'send', room: 'p2', text: `m${i}`, clientMsgId: `s${i}` });
    const { requestId } = await call('send', sam, { action: 'send', room: 'p2', text: 'm5', clientMsgId: 's5' });
    const error = postsTo(sam.connectionId).at(-1);
    expect(error).toMatchObject({ type: 'error', code: 'RATE_LIMITED', requestId, retryable: true, clientMsgId: 's5' });
    expect(error?.retryAfterMs).toBeGreaterThan(50_000);
    expect(error?.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(error?.message).toMatch(/^at most 4 sends per 60000 ms on one connection; retry in \d+ ms$/);
  });

  it('answers TOO_LARGE for text over 4,000 code points, echoing the clientMsgId', async () => {
    const { requestId } = await call('send', rex, { action: 'send', room: 'p1', text: 'x'.repeat(4001), clientMsgId: 'big' });
    expect(postsTo(rex.connectionId).at(-1)).toEqual({
      type: 'error',
      code: 'TOO_LARGE',
      message: 'text must be at most 4000 Unicode code points',
      requestId,
      retryable: false,
      clientMsgId: 'big',
    });
  });
});

describe('sessions end with their token', () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('refuses a frame with SESSION_EXPIRED and closes the connection once its token expired over 5 minutes ago', async () => {
    const old = connection('oli', 'conn-session-oli=', nowSeconds() - SESSION_GRACE_SECONDS - 1);
    const { requestId } = await call('send', old, { action: 'send', room: 's1', text: 'late', clientMsgId: 'late-1' });
    expect(postsTo(old.connectionId)).toEqual([
      {
        type: 'error',
        code: 'SESSION_EXPIRED',
        message: `the connection's token expired over ${SESSION_GRACE_SECONDS} s ago; reconnect with a fresh token`,
        requestId,
        retryable: false,
        clientMsgId: 'late-1',
      },
    ]);
    expect(deleted).toContain(old.connectionId);
  });

  it('serves a connection whose token expired less than 5 minutes ago, and one whose token is valid', async () => {
    const grace = connection('gus', 'conn-session-gus=', nowSeconds() - SESSION_GRACE_SECONDS + 60);
    const fresh = connection('fay', 'conn-session-fay=', nowSeconds() + 3600);
    await call('ping', grace, { action: 'ping' });
    await call('ping', fresh, { action: 'ping' });
    expect(postsTo(grace.connectionId)).toEqual([{ type: 'pong', ts: expect.any(Number) }]);
    expect(postsTo(fresh.connectionId)).toEqual([{ type: 'pong', ts: expect.any(Number) }]);
    expect(deleted).not.toContain(grace.connectionId);
    expect(deleted).not.toContain(fresh.connectionId);
  });
});

describe('when DynamoDB is unreachable', () => {
  beforeAll(async () => {
    await dynamo.close();
    dynamoRunning = false;
  });

  it('tells the client to retry with a retryable INTERNAL error that keeps its clientMsgId', async () => {
    const ann = connection('ann', 'conn-ann=');
    const { result, requestId } = await call('send', ann, { action: 'send', room: 'h1', text: 'lost?', clientMsgId: 'k3' });
    expect(result.statusCode).toBe(200);
    expect(postsTo(ann.connectionId).at(-1)).toEqual({
      type: 'error',
      code: 'INTERNAL',
      message: 'a dependency is unavailable; retry',
      requestId,
      retryable: true,
      clientMsgId: 'k3',
    });
  });

  it('rejects the $connect with 500 so the client reconnects later', async () => {
    const conn = connection('ann', 'conn-new=');
    const event = connectEvent(api, conn, { headers: {}, multiValueHeaders: {} });
    expect((await handlers.connect(event, context)).statusCode).toBe(500);
  });
});
