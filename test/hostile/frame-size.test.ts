/**
 * Every frame fits: a room filled with maximum-size messages (4,000 code points each, of the characters that
 * cost most on the wire) is paged through on the local stack. API Gateway refuses a post over 128 KB with 413,
 * so a history page without a byte budget never arrives at all; with it, each page fits, says `hasMore`, and
 * paging on (by hand and through the client library) delivers every message once and in order. A crowd of
 * users with the longest ids gets a capped `joined` list with a count, and `who` pages through all of them.
 */
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatClient as LibraryClient } from '../../client/chat-client.ts';
import { nodeWebSocket } from '../../client/node.ts';
import { MAX_FRAME_BYTES } from '../../functions/domain/frame-budget.ts';
import { MAX_TEXT_CODE_POINTS, MEMBER_PAGE_SIZE } from '../../functions/domain/protocol-rules.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';
import { ChatClient, type Frame } from '../support/ws-client.ts';

let stack: BootedStack;
const room = 'packed';
/** A control character is escaped to 6 bytes of JSON; an emoji is 4 bytes of UTF-8; both 4,000 times. */
const TEXTS = ['\u0001'.repeat(MAX_TEXT_CODE_POINTS), '😀'.repeat(MAX_TEXT_CODE_POINTS), 'x'.repeat(MAX_TEXT_CODE_POINTS)];
const WRITERS = 3;
const PER_WRITER = 14;
const TOTAL = WRITERS * PER_WRITER;
const textOf = (seq: number) => TEXTS[seq % TEXTS.length] as string;
const wireBytes = (frame: Frame) => Buffer.byteLength(JSON.stringify(frame));

beforeAll(async () => {
  stack = await bootDevStack();
  const writers = await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const c = await ChatClient.connect(stack.wsUrl(await stack.tokenFor(`writer${w}`)));
      await c.request({ action: 'join', room }, 'joined');
      return c;
    }),
  );
  // One at a time, so seq n carries textOf(n); each writer stays under the 20 sends per 10 s.
  for (let seq = 1; seq <= TOTAL; seq++) {
    const writer = writers[seq % WRITERS] as ChatClient;
    const ack = await writer.request({ action: 'send', room, text: textOf(seq), clientMsgId: `m${seq}` }, 'ack');
    expect(ack.seq).toBe(seq);
  }
  await Promise.all(writers.map((w) => w.close()));
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

it('precondition: the room holds far more than one 128 KB frame of messages', () => {
  const bytes = Array.from({ length: TOTAL }, (_, i) => Buffer.byteLength(JSON.stringify(textOf(i + 1)))).reduce((a, b) => a + b);
  expect(bytes).toBeGreaterThan(4 * MAX_FRAME_BYTES);
});

it('answers history with limit 100 with a page that fits, ends at the newest message and says there is more', async () => {
  const reader = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('reader')));
  await reader.request({ action: 'join', room }, 'joined');
  const page = await reader.request({ action: 'history', room, limit: 100 }, 'history');
  const messages = page.messages as { seq: number; text: string }[];
  expect(wireBytes(page)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  expect(page.hasMore).toBe(true);
  expect(messages.at(-1)?.seq).toBe(TOTAL);
  expect(messages.length).toBeGreaterThan(1);
  expect(messages.length).toBeLessThan(TOTAL);
  for (const m of messages) expect(m.text).toBe(textOf(m.seq));
  await reader.close();
});

it('pages through every message from a resuming join, each page under 128 KB', async () => {
  const reader = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('pager')));
  const before = reader.frames.length;
  reader.send({ action: 'join', room, afterSeq: 0 });
  let page = await reader.next((f) => f.type === 'history' && reader.frames.indexOf(f) >= before);
  const seqs: number[] = [];
  const pages: Frame[] = [page];
  for (;;) {
    const messages = page.messages as { seq: number; text: string }[];
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) {
      expect(m.text).toBe(textOf(m.seq));
      seqs.push(m.seq);
    }
    if (!page.hasMore) break;
    page = await reader.request({ action: 'history', room, afterSeq: seqs.at(-1), limit: 100 }, 'history');
    pages.push(page);
  }
  expect(seqs).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  expect(pages.length).toBeGreaterThan(2);
  for (const p of pages) expect(wireBytes(p)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  await reader.close();
});

it('delivers the whole backlog through the client library, once each and in order, from partial pages', async () => {
  const client = new LibraryClient({
    url: stack.url,
    token: () => stack.tokenFor('library'),
    webSocket: nodeWebSocket,
  });
  const delivered: number[] = [];
  const all = new Promise<void>((resolve) =>
    client.on('message', (m) => {
      delivered.push(m.seq);
      if (delivered.length === TOTAL) resolve();
    }),
  );
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.code} ${e.message}`));
  await client.connect();
  await client.join(room, { backlog: TOTAL });
  await all;
  expect(delivered).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  expect(errors).toEqual([]);
  client.close();
}, 60_000);

/**
 * Memberships of users with the longest ids (128 characters), written as the join function writes them. Their
 * connections do not exist: a presence broadcast to the room would prune them all, so the test's own users join
 * before the crowd is written and as a second connection of a present user after it. Returns a remover.
 */
async function crowd(crowdRoom: string, users: readonly string[]): Promise<() => Promise<void>> {
  const db = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const table = stack.tables.find((t) => t.endsWith('-memberships')) as string;
  const expiresAt = String(Math.floor(Date.now() / 1000) + 3600);
  const key = (userId: string) => ({ room: { S: crowdRoom }, connectionId: { S: `crowd-${userId.slice(0, 6)}` } });
  const batches = (request: (userId: string) => object) =>
    Array.from({ length: Math.ceil(users.length / 25) }, (_, b) => users.slice(b * 25, b * 25 + 25).map(request));
  for (const batch of batches((userId) => ({ PutRequest: { Item: { ...key(userId), userId: { S: userId }, joinedAt: { N: '0' }, expiresAt: { N: expiresAt } } } }))) {
    await db.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
  }
  return async () => {
    for (const batch of batches((userId) => ({ DeleteRequest: { Key: key(userId) } }))) {
      await db.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
    }
    db.destroy();
  };
}

it('caps the members of joined with a count, and who pages through a crowd of the longest user ids', async () => {
  const crowdRoom = 'crowded';
  const users = Array.from({ length: MEMBER_PAGE_SIZE * 2 + 10 }, (_, i) => `c${String(i).padStart(5, '0')}${'x'.repeat(122)}`);
  const client = new LibraryClient({ url: stack.url, token: () => stack.tokenFor('listing'), webSocket: nodeWebSocket });
  await client.connect();
  await client.join(crowdRoom);
  const first = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('counter')));
  await first.request({ action: 'join', room: crowdRoom }, 'joined');
  const removeCrowd = await crowd(crowdRoom, users);
  const everyone = [...users, 'counter', 'listing'].sort();

  const second = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('counter')));
  const joined = await second.request({ action: 'join', room: crowdRoom }, 'joined');
  expect(wireBytes(joined)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  expect(joined).toMatchObject({ memberCount: everyone.length, members: everyone.slice(0, MEMBER_PAGE_SIZE) });
  const who = await second.request({ action: 'who', room: crowdRoom }, 'who');
  expect(wireBytes(who)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  expect(who).toMatchObject({ memberCount: everyone.length, hasMore: true, members: everyone.slice(0, MEMBER_PAGE_SIZE) });

  expect(await client.who(crowdRoom)).toEqual(everyone);
  await removeCrowd();
  await Promise.all([first.close(), second.close()]);
  client.close();
}, 60_000);
