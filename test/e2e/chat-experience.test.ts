/**
 * End to end on the local stack: presence, who, typing, resuming a join, the heartbeat, and the text size and
 * send rate limits, with real WebSocket clients against the synthesized dev plan.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import { TABLE_KEYS, type TableKey } from '../../functions/catalog/tables.ts';
import { connectionExpiresAt } from '../../functions/domain/lifetime.ts';
import { SEND_RATE_BOUNDS } from '../../functions/domain/rate-limit.ts';
import { bootEditedStack, sendRateWindow } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';
import { ChatClient, sleep, type Frame } from '../support/ws-client.ts';

// The send window at its maximum (an hour, 20 sends) so the rate-limit test cannot race the clock; the 10 s
// default's arithmetic is the domain tests' (test/domain/rate-limit.test.ts), on virtual time.
const { stack, connect, joined } = useStack(() => bootEditedStack(sendRateWindow(SEND_RATE_BOUNDS.windowMs.max)));

let db: DynamoDBClient;

const tableName = (key: TableKey) => stack.tables.find((t) => t.endsWith(`-${key}`)) as string;
/** The stack's tables through the store adapter, for records a client cannot create. */
const directStore = () =>
  new DynamoChatStore(
    DynamoDBDocumentClient.from(db),
    Object.fromEntries(TABLE_KEYS.map((key) => [key, tableName(key)])) as Record<TableKey, string>,
  );
const presenceOf = (client: ChatClient, user: string) => client.ofType('presence').filter((f) => f.user === user);
const typingOf = (client: ChatClient) => client.ofType('typing');

beforeAll(async () => {
  db = new DynamoDBClient({
    endpoint: stack.dynamoEndpoint,
    region: stack.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  db?.destroy();
});

describe('presence', () => {
  it("tells the others when a user's first connection joins and the last one leaves, nothing in between", async () => {
    const bob = await joined('bob', 'pres-1');
    const alice = await joined('alice', 'pres-1');
    expect(await bob.next((f) => f.type === 'presence')).toEqual({ type: 'presence', room: 'pres-1', user: 'alice', event: 'join' });

    const alicePhone = await joined('alice', 'pres-1');
    await alicePhone.request({ action: 'leave', room: 'pres-1' }, 'left');
    // Once no invocation runs, every presence post has been made; bob's pong comes after any of them.
    await expect.poll(() => stack.invocationsInFlight(), { timeout: 30_000 }).toBe(0);
    await bob.request({ action: 'ping' }, 'pong');
    expect(presenceOf(bob, 'alice')).toHaveLength(1);

    await alice.request({ action: 'leave', room: 'pres-1' }, 'left');
    expect(await bob.next((f) => f.type === 'presence' && f.event === 'leave')).toEqual({
      type: 'presence',
      room: 'pres-1',
      user: 'alice',
      event: 'leave',
    });
    expect(alice.ofType('presence')).toEqual([]);
  });

  it('announces a leave when the last connection disconnects', async () => {
    const bob = await joined('bob', 'pres-2');
    const carol = await joined('carol', 'pres-2');
    await bob.next((f) => f.type === 'presence' && f.user === 'carol');
    await carol.close();
    expect(await bob.next((f) => f.type === 'presence' && f.event === 'leave')).toMatchObject({ user: 'carol', room: 'pres-2' });
  });

  it('announces a leave for connections whose $disconnect never arrived, once a fan-out finds them gone', async () => {
    const store = directStore();
    /** A connection the gateway no longer knows, with the records its lost $disconnect would have removed. */
    const ghost = async (userId: string) => {
      const membership = {
        room: 'pres-3',
        connectionId: `${userId}ConnId0=`,
        userId,
        joinedAt: Date.now(),
        expiresAt: connectionExpiresAt(Date.now()),
      };
      await store.putMembership(membership);
      await store.addPresence(membership, Date.now());
    };

    // Announcing bob's arrival posts to the first ghost, finds it gone and announces its departure.
    await ghost('ghost');
    const bob = await connect('bob');
    expect((await bob.request({ action: 'join', room: 'pres-3' }, 'joined')).members).toEqual(['bob', 'ghost']);
    expect(await bob.next((f) => f.type === 'presence')).toEqual({ type: 'presence', room: 'pres-3', user: 'ghost', event: 'leave' });
    expect((await bob.request({ action: 'who', room: 'pres-3' }, 'who')).members).toEqual(['bob']);

    // Fanning out a message does the same for the second.
    await ghost('phantom');
    expect((await bob.request({ action: 'who', room: 'pres-3' }, 'who')).members).toEqual(['bob', 'phantom']);
    await bob.request({ action: 'send', room: 'pres-3', text: 'anyone there?', clientMsgId: 'g-1' }, 'ack');
    expect(await bob.next((f) => f.type === 'presence' && f.user === 'phantom')).toEqual({
      type: 'presence',
      room: 'pres-3',
      user: 'phantom',
      event: 'leave',
    });
    expect((await bob.request({ action: 'who', room: 'pres-3' }, 'who')).members).toEqual(['bob']);
  });
});

describe('who', () => {
  it('lists sorted unique user ids', async () => {
    const zed = await joined('zed', 'who-1');
    await joined('amy', 'who-1');
    await joined('amy', 'who-1');
    expect(await zed.request({ action: 'who', room: 'who-1' }, 'who')).toEqual({ type: 'who', room: 'who-1', members: ['amy', 'zed'], memberCount: 2, hasMore: false });
  });
});

describe('typing', () => {
  it("reaches the other users, not the sender nor the sender's other connections, at most once per 2 s", async () => {
    const bob = await joined('bob', 'typ-1');
    const dan = await joined('dan', 'typ-1');
    const danPhone = await joined('dan', 'typ-1');
    const started = Date.now();
    dan.send({ action: 'typing', room: 'typ-1' });
    expect(await bob.next((f) => f.type === 'typing')).toEqual({ type: 'typing', room: 'typ-1', user: 'dan' });
    // Spaced a little, so one warm function instance handles them well within the 2 s.
    for (let i = 0; i < 4; i++) {
      dan.send({ action: 'typing', room: 'typ-1' });
      await sleep(50);
    }
    await dan.request({ action: 'ping' }, 'pong');
    // Every relayed signal has been posted once no invocation runs; bob's pong comes after all of them.
    await expect.poll(() => stack.invocationsInFlight(), { timeout: 30_000 }).toBe(0);
    await bob.request({ action: 'ping' }, 'pong');
    // One per 2 s: normally exactly one in this second or so, however slow the machine the bound holds.
    expect(typingOf(bob).length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 2000) + 1);
    const relayed = typingOf(bob).length;
    expect(typingOf(dan)).toEqual([]);
    expect(typingOf(danPhone)).toEqual([]);
    // Dropped signals are silent: no error frame either.
    expect(dan.ofType('error')).toEqual([]);

    await sleep(2100);
    dan.send({ action: 'typing', room: 'typ-1' });
    await expect.poll(() => typingOf(bob).length, { timeout: 5000 }).toBe(relayed + 1);
  });
});

describe('resume: join with afterSeq', () => {
  it('replies joined, then the messages after the seq', async () => {
    const writer = await joined('wes', 'res-1');
    for (let i = 1; i <= 4; i++) {
      await writer.request({ action: 'send', room: 'res-1', text: `m${i}`, clientMsgId: `w-${i}` }, 'ack');
    }
    const reader = await connect('rita');
    reader.send({ action: 'join', room: 'res-1', afterSeq: 2 });
    const history = await reader.next((f) => f.type === 'history');
    const frameTypes = reader.frames.map((f) => f.type);
    expect(frameTypes.indexOf('joined')).toBeLessThan(frameTypes.indexOf('history'));
    expect(reader.ofType('joined')[0]).toMatchObject({ room: 'res-1', lastSeq: 4 });
    expect(history).toMatchObject({ type: 'history', room: 'res-1', hasMore: false });
    expect((history.messages as Frame[]).map((m) => [m.seq, m.text])).toEqual([
      [3, 'm3'],
      [4, 'm4'],
    ]);
  });

  it('sends an empty page when nothing is new', async () => {
    const reader = await connect('rita');
    const before = reader.frames.length;
    reader.send({ action: 'join', room: 'res-1', afterSeq: 4 });
    const history = await reader.next((f) => f.type === 'history' && reader.frames.indexOf(f) >= before);
    expect(history).toEqual({ type: 'history', room: 'res-1', messages: [], hasMore: false, throughSeq: 4 });
  });

  it('pages at 100 and says more remain', async () => {
    // Written straight to the table: sending 101 messages would only test the rate limit.
    const ts = Date.now();
    for (let seq = 1; seq <= 101; seq++) {
      await directStore().putMessageIfAbsent({ room: 'res-2', seq, id: `id-${seq}`, user: 'wes', text: `m${seq}`, ts, clientMsgId: `s-${seq}`, expiresAt: Math.floor(ts / 1000) + 3600 });
    }
    const reader = await connect('rita');
    reader.send({ action: 'join', room: 'res-2', afterSeq: 0 });
    const page = await reader.next((f) => f.type === 'history');
    expect((page.messages as Frame[]).map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(page.hasMore).toBe(true);
    const before = reader.frames.length;
    reader.send({ action: 'history', room: 'res-2', afterSeq: 100 });
    const rest = await reader.next((f) => f.type === 'history' && reader.frames.indexOf(f) >= before);
    expect(rest).toMatchObject({ hasMore: false, messages: [{ seq: 101, text: 'm101' }] });
  });
});

describe('heartbeat', () => {
  it('refreshes lastSeen on the connection item and extends its expiry, within the 2 hour cap', async () => {
    const hal = await connect('hal');
    const item = async () => {
      const { Items } = await db.send(new ScanCommand({ TableName: tableName('connections'), ConsistentRead: true }));
      const found = Items?.find((i) => i.userId?.S === 'hal');
      return { lastSeen: Number(found?.lastSeen?.N), expiresAt: Number(found?.expiresAt?.N), connectedAt: Number(found?.connectedAt?.N) };
    };
    const before = await item();
    await sleep(1100);
    const pong = await hal.request({ action: 'ping' }, 'pong');
    const after = await item();
    expect(after.lastSeen).toBe(pong.ts);
    expect(after.lastSeen).toBeGreaterThan(before.lastSeen);
    expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
    expect(after.expiresAt).toBeLessThanOrEqual(connectionExpiresAt(after.connectedAt));
  });
});

describe('limits', () => {
  it('refuses text over 4,000 code points with TOO_LARGE and stores nothing', async () => {
    const tess = await joined('tess', 'lim-1');
    const error = await tess.request({ action: 'send', room: 'lim-1', text: '👋'.repeat(4001), clientMsgId: 't-1' }, 'error');
    expect(error).toMatchObject({ code: 'TOO_LARGE', retryable: false, clientMsgId: 't-1' });
    expect(error.message).toBe('text must be at most 4000 Unicode code points');
    const ok = await tess.request({ action: 'send', room: 'lim-1', text: '👋'.repeat(4000), clientMsgId: 't-2' }, 'ack');
    expect(ok.seq).toBe(1);
  });

  it('refuses the 21st send within the window with RATE_LIMITED and retryAfterMs; a replay is still answered', async () => {
    const rob = await joined('rob', 'lim-2');
    const acks = [];
    for (let i = 1; i <= 20; i++) {
      acks.push(await rob.request({ action: 'send', room: 'lim-2', text: `m${i}`, clientMsgId: `r-${i}` }, 'ack'));
    }
    const error = await rob.request({ action: 'send', room: 'lim-2', text: 'one too many', clientMsgId: 'r-21' }, 'error');
    expect(error).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryable: true, clientMsgId: 'r-21' });
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(SEND_RATE_BOUNDS.windowMs.max);

    // A replayed clientMsgId is not counted: it gets its original ack while the window is full.
    expect(await rob.request({ action: 'send', room: 'lim-2', text: 'm1', clientMsgId: 'r-1' }, 'ack')).toEqual(acks[0]);
    const history = await rob.request({ action: 'history', room: 'lim-2', limit: 100 }, 'history');
    expect((history.messages as Frame[]).map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('errors for the new requests', () => {
  let eve: ChatClient;

  beforeAll(async () => {
    eve = await connect('eve');
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['who without join', { action: 'who', room: 'general' }, 'NOT_A_MEMBER', /^join room general first$/],
    ['typing without join', { action: 'typing', room: 'general' }, 'NOT_A_MEMBER', /^join room general first$/],
    ['who without a room', { action: 'who' }, 'BAD_REQUEST', /^room is required$/],
    ['typing with a bad room', { action: 'typing', room: 'no spaces' }, 'BAD_REQUEST', /^room must match/],
    ['join with a negative afterSeq', { action: 'join', room: 'general', afterSeq: -1 }, 'BAD_REQUEST', /^afterSeq must be >= 0$/],
    ['join with a string afterSeq', { action: 'join', room: 'general', afterSeq: '5' }, 'BAD_REQUEST', /^afterSeq must be a number$/],
    ['join with a huge afterSeq', { action: 'join', room: 'general', afterSeq: 1e300 }, 'BAD_REQUEST', /^afterSeq must be <= 9007199254740991$/],
  ];

  it.each(cases)('%s', async (_name, frame, code, message) => {
    const error = await eve.request(frame, 'error');
    expect(error).toMatchObject({ type: 'error', code, retryable: false });
    expect(error.message).toMatch(message);
    expect(eve.ofType('joined')).toEqual([]);
  });
});
