/**
 * End to end on the local stack: the synthesized dev plan, its esbuild bundles in Lambda-like workers,
 * dynalite, and real WebSocket clients.
 */
import { ApiGatewayManagementApiClient, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SignJWT, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../functions/catalog/functions.ts';
import { functionAccessKeyId, OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import { LOCAL_IDP } from '../../local/idp.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, handshakeStatus, type Frame } from '../support/ws-client.ts';

const { stack, connect } = useStack(() => bootDevStack());

const isError = (code: string) => (f: Frame) => f.type === 'error' && f.code === code;

/** Signed as the operator identity by default; posts need a role that may post (a function's). */
function managementClient(accessKeyId = OPERATOR_ACCESS_KEY_ID): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${stack.port}/${stack.stage}`,
    region: stack.region,
    credentials: { accessKeyId, secretAccessKey: 'local' },
  });
}

async function tableItems(suffix: string): Promise<Record<string, { S?: string; N?: string }>[]> {
  const db = new DynamoDBClient({
    endpoint: stack.dynamoEndpoint,
    region: stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const name = stack.tables.find((t) => t.endsWith(`-${suffix}`)) as string;
  const { Items } = await db.send(new ScanCommand({ TableName: name }));
  db.destroy();
  return (Items ?? []) as Record<string, { S?: string; N?: string }>[];
}

describe('runtime', () => {
  it("runs the function workers on the Node major of the plan's Lambda runtime", () => {
    // npm scripts run on the "node" dev dependency; a mismatch means local behaviour is not Lambda's.
    const major = process.versions.node.split('.')[0];
    expect(stack.nodeRuntime.local).toBe(process.version);
    expect(stack.nodeRuntime.plan).toEqual([`nodejs${major}.x`]);
  });
});

describe('handshake', () => {
  it('rejects a missing token with 401 before any function runs', async () => {
    expect(await handshakeStatus(stack.wsUrl())).toBe(401);
  });

  it('rejects garbage, expired and foreign-key tokens with 401', async () => {
    const expired = await stack.tokenFor('alice', { ttlSeconds: -60 });
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'not-ours' })
      .setSubject('alice')
      .setIssuer(LOCAL_IDP.issuer)
      .setAudience(LOCAL_IDP.audience)
      .setExpirationTime('1h')
      .sign(privateKey);
    for (const token of ['garbage', expired, foreign]) {
      expect(await handshakeStatus(stack.wsUrl(token))).toBe(401);
    }
  });

  it('denies (403) a valid token whose subject cannot be a user id', async () => {
    expect(await handshakeStatus(stack.wsUrl(await stack.tokenFor('bad#user')))).toBe(403);
  });

  it('serves the wrong stage path with 403', async () => {
    const token = await stack.tokenFor('alice');
    expect(await handshakeStatus(`ws://127.0.0.1:${stack.port}/other?token=${token}`)).toBe(403);
  });
});

describe('chat between two users', () => {
  let alice: ChatClient;
  let bob: ChatClient;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([connect('alice'), connect('bob')]);
  });

  it('answers ping with pong', async () => {
    const pong = await alice.request({ action: 'ping' }, 'pong');
    expect(pong.ts).toBeTypeOf('number');
    expect(Math.abs((pong.ts as number) - Date.now())).toBeLessThan(10_000);
  });

  it('joins a room and lists its members', async () => {
    const joinedA = await alice.request({ action: 'join', room: 'general' }, 'joined');
    expect(joinedA).toEqual({ type: 'joined', room: 'general', lastSeq: 0, members: ['alice'], memberCount: 1 });
    const joinedB = await bob.request({ action: 'join', room: 'general' }, 'joined');
    expect(joinedB).toEqual({ type: 'joined', room: 'general', lastSeq: 0, members: ['alice', 'bob'], memberCount: 2 });
  });

  it('acks a send with seq 1 and delivers it once to every member, sender included', async () => {
    const ack = await alice.request({ action: 'send', room: 'general', text: 'hello bob', clientMsgId: 'm-1' }, 'ack');
    expect(ack).toMatchObject({ type: 'ack', room: 'general', clientMsgId: 'm-1', seq: 1 });
    expect(ack.id).toBeTypeOf('string');
    const expected = { type: 'message', room: 'general', seq: 1, id: ack.id, user: 'alice', text: 'hello bob', ts: ack.ts };
    expect(await bob.next((f) => f.type === 'message' && f.seq === 1)).toEqual(expected);
    expect(await alice.next((f) => f.type === 'message' && f.seq === 1)).toEqual(expected);
  });

  it('returns the same ack for a retried clientMsgId and does not broadcast it again', async () => {
    const retry = await alice.request({ action: 'send', room: 'general', text: 'hello bob', clientMsgId: 'm-1' }, 'ack');
    const original = alice.ofType('ack')[0] as Frame;
    expect(retry).toEqual(original);
    const next = await alice.request({ action: 'send', room: 'general', text: 'second', clientMsgId: 'm-2' }, 'ack');
    expect(next.seq).toBe(2);
    await bob.next((f) => f.type === 'message' && f.seq === 2);
    expect(bob.ofType('message').filter((f) => f.seq === 1)).toHaveLength(1);
    expect(alice.ofType('message').filter((f) => f.seq === 1)).toHaveLength(1);
  });

  it('pages history newest-first pages in ascending order', async () => {
    for (let i = 3; i <= 5; i++) {
      await bob.request({ action: 'send', room: 'general', text: `msg ${i}`, clientMsgId: `b-${i}` }, 'ack');
    }
    const latest = await bob.request({ action: 'history', room: 'general', limit: 2 }, 'history');
    expect((latest.messages as Frame[]).map((m) => m.seq)).toEqual([4, 5]);
    expect(latest.hasMore).toBe(true);
    const before = await bob.request({ action: 'history', room: 'general', beforeSeq: 4, limit: 10 }, 'history');
    expect((before.messages as Frame[]).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(before.hasMore).toBe(false);
    const after = await bob.request({ action: 'history', room: 'general', afterSeq: 3 }, 'history');
    expect((after.messages as Frame[]).map((m) => m.seq)).toEqual([4, 5]);
    expect(after.hasMore).toBe(false);
    expect((after.messages as Frame[])[0]).toMatchObject({ room: 'general', seq: 4, user: 'bob', text: 'msg 4' });
  });

  it('stops delivering to a member who left', async () => {
    expect(await bob.request({ action: 'leave', room: 'general' }, 'left')).toEqual({ type: 'left', room: 'general' });
    const ack = await alice.request({ action: 'send', room: 'general', text: 'bob is gone', clientMsgId: 'm-6' }, 'ack');
    await alice.next((f) => f.type === 'message' && f.seq === ack.seq);
    // The ack follows the fan-out, so a post to bob would already be on his socket, ahead of this reply.
    const denied = await bob.request({ action: 'history', room: 'general' }, 'error');
    expect(denied).toMatchObject({ code: 'NOT_A_MEMBER', retryable: false });
    expect(bob.ofType('message').some((f) => f.seq === ack.seq)).toBe(false);
  });

  it("traces a send's invocation and its DynamoDB calls, and opens no X-Ray subsegment per @connections post", async () => {
    const sendTraces = () => stack.traces.list(1000).filter((t) => t.name.endsWith('-send'));
    const earlier = new Set(sendTraces().map((t) => t.traceId));
    // A room of its own, so the seqs the other tests expect in 'general' stay theirs.
    await alice.request({ action: 'join', room: 'traced' }, 'joined');
    await bob.request({ action: 'join', room: 'traced' }, 'joined');
    const ack = await alice.request({ action: 'send', room: 'traced', text: 'traced', clientMsgId: 'm-traced' }, 'ack');
    await bob.next((f) => f.type === 'message' && f.id === ack.id);
    let rows: { name: string }[] = [];
    // The handler's subsegment closes after the room's posts: once it has arrived, a post's subsegment would have too.
    await expect
      .poll(() => {
        const trace = sendTraces().find((t) => !earlier.has(t.traceId));
        rows = trace ? stack.traces.waterfall(trace.traceId) : [];
        return rows.some((row) => row.name.startsWith('## '));
      })
      .toBe(true);
    expect(rows.map((row) => row.name)).toContain('DynamoDB');
    // The X-Ray SDK's HTTP capture names a request's subsegment after its host: the gateway's.
    expect(rows.filter((row) => row.name === '127.0.0.1')).toEqual([]);
  });
});

describe('bad frames get an error frame and the connection stays usable', () => {
  let carol: ChatClient;

  beforeAll(async () => {
    carol = await connect('carol');
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['not JSON', 'hello?', 'BAD_REQUEST', /not valid JSON/],
    ['a JSON array', '[1,2]', 'BAD_REQUEST', /JSON object/],
    ['the seed frame shape', { userId: 'mallory', message: 'hi' }, 'UNKNOWN_ACTION', /missing "action"/],
    ['an unknown action', { action: 'shout', room: 'general' }, 'UNKNOWN_ACTION', /unknown action "shout"/],
    ['a bad room id', { action: 'join', room: '-bad room' }, 'BAD_REQUEST', /^room must match/],
    ['a missing room', { action: 'join' }, 'BAD_REQUEST', /^room is required/],
    ['empty text', { action: 'send', room: 'general', text: '', clientMsgId: 'x' }, 'BAD_REQUEST', /^text must not be empty/],
    ['a missing clientMsgId', { action: 'send', room: 'general', text: 'x' }, 'BAD_REQUEST', /^clientMsgId is required/],
    ['a history limit of 101', { action: 'history', room: 'general', limit: 101 }, 'BAD_REQUEST', /^limit must be <= 100/],
    ['a fractional afterSeq', { action: 'history', room: 'general', afterSeq: 1.5 }, 'BAD_REQUEST', /^afterSeq must be an integer/],
    ['send without join', { action: 'send', room: 'general', text: 'x', clientMsgId: 'c-1' }, 'NOT_A_MEMBER', /join room general/],
    ['history without join', { action: 'history', room: 'general' }, 'NOT_A_MEMBER', /join room general/],
    ['leave without join', { action: 'leave', room: 'general' }, 'NOT_A_MEMBER', /join room general/],
  ];

  it.each(cases)('%s', async (_name, frame, code, message) => {
    const error = await carol.request(frame, 'error');
    expect(error).toMatchObject({ type: 'error', code, retryable: false });
    expect(error.message).toMatch(message);
    expect(error.requestId).toBeTypeOf('string');
    // The connection still answers: a pong, or RATE_LIMITED once the ping route's per-connection bucket is empty.
    const seen = carol.frames.length;
    carol.send({ action: 'ping' });
    const answer = await carol.next((f) => carol.frames.indexOf(f) >= seen);
    expect(answer.type === 'pong' || (answer.type === 'error' && answer.code === 'RATE_LIMITED')).toBe(true);
  });

  it('lists every action when the action is unknown', async () => {
    const error = await carol.request({ action: 'nope' }, 'error');
    for (const action of ACTIONS) expect(error.message).toContain(action);
  });

  it('echoes the clientMsgId of a failed send', async () => {
    const error = await carol.request({ action: 'send', room: 'general', text: 'x', clientMsgId: 'c-9' }, 'error');
    expect(error).toMatchObject({ code: 'NOT_A_MEMBER', clientMsgId: 'c-9' });
  });

  it('closes a connection that sends a frame over 32 KB with 1009', async () => {
    const big = await connect('dave');
    big.send({ action: 'ping', pad: 'x'.repeat(33 * 1024) });
    expect((await big.closedWith()).code).toBe(1009);
  });
});

describe('@connections management API', () => {
  it('answers GetConnection with identity and times', async () => {
    const erin = await connect('erin');
    await erin.request({ action: 'ping' }, 'pong');
    const sockets = [...(await tableItems('connections'))].filter((item) => item.userId?.S === 'erin');
    expect(sockets).toHaveLength(1);
    const connectionId = (sockets[0] as { connectionId: { S: string } }).connectionId.S;
    const info = await managementClient().send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
  });

  it('answers a post to an unknown connection with a GoneException', async () => {
    const error = await managementClient(functionAccessKeyId('wschat-dev-send'))
      .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==', Data: Buffer.from('{}') }))
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('GoneException');
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(410);
  });
});

describe('disconnect', () => {
  it('removes the connection and its memberships', async () => {
    const frank = await connect('frank');
    await frank.request({ action: 'join', room: 'lobby' }, 'joined');
    expect((await tableItems('memberships')).some((m) => m.userId?.S === 'frank')).toBe(true);
    await frank.close();
    await expect
      .poll(async () => (await tableItems('memberships')).some((m) => m.userId?.S === 'frank'), { timeout: 10_000 })
      .toBe(false);
    expect((await tableItems('connections')).some((c) => c.userId?.S === 'frank')).toBe(false);
  });
});
