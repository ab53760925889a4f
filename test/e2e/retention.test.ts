/**
 * Message retention on the local stack: a plan copy whose send function keeps messages for a minute, and a
 * functions' clock the test moves past it (nothing waits on the wall clock). Expired messages are still in
 * dynalite (the TTL sweeper runs on real time), so what is tested is that every read leaves them out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient as LibraryClient } from '../../client/index.ts';
import { nodeWebSocket } from '../../client/node.ts';
import type { MessageView } from '../../functions/domain/protocol.ts';
import { FunctionClock } from '../../local/lambda/function-clock.ts';
import { bootEditedStack, messageRetention } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';

const RETENTION_SECONDS = 60;
const functionClock = new FunctionClock();
const { stack, joined } = useStack(() => bootEditedStack(messageRetention(RETENTION_SECONDS), { functionClock }));
const libraryClients: LibraryClient[] = [];

afterEach(() => {
  for (const client of libraryClients.splice(0)) client.close();
});

function libraryClient(user: string) {
  const client = new LibraryClient({
    url: stack.url,
    token: () => stack.tokenFor(user),
    webSocket: nodeWebSocket,
    requestTimeoutMs: 3000,
    gapFillDelayMs: 100,
  });
  libraryClients.push(client);
  const delivered: MessageView[] = [];
  client.on('message', (m) => delivered.push(m));
  return { client, delivered };
}

/** Sends `before` messages, moves the functions' clock past their retention, then sends `after` more. */
async function roomWithExpiredStart(room: string, before: number, after: number): Promise<void> {
  const writer = await joined('ret-writer', room);
  functionClock.stop();
  try {
    for (let i = 1; i <= before; i++) await writer.request({ action: 'send', room, text: `old ${i}`, clientMsgId: `old-${i}` }, 'ack');
    functionClock.advance((RETENTION_SECONDS + 1) * 1000);
    for (let i = 1; i <= after; i++) await writer.request({ action: 'send', room, text: `new ${i}`, clientMsgId: `new-${i}` }, 'ack');
  } finally {
    functionClock.resume();
  }
}

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.log(stack.printed.slice(-60).join('\n'));
});

describe('message retention', () => {
  it('history leaves out expired messages and says the page is complete through the newest seq', async () => {
    await roomWithExpiredStart('ret-history', 3, 2);
    const reader = await joined('ret-reader', 'ret-history');
    const page = await reader.request({ action: 'history', room: 'ret-history', afterSeq: 0 }, 'history');
    expect((page.messages as MessageView[]).map((m) => [m.seq, m.text])).toEqual([
      [4, 'new 1'],
      [5, 'new 2'],
    ]);
    expect(page).toMatchObject({ hasMore: false, throughSeq: 5 });
    // The newest page (descending) has no cursor, so it makes no completeness claim.
    const newest = await reader.request({ action: 'history', room: 'ret-history' }, 'history');
    expect((newest.messages as MessageView[]).map((m) => m.seq)).toEqual([4, 5]);
    expect(newest.throughSeq).toBeUndefined();
  });

  it('a resuming join after the room expired entirely is complete through the last seq, which stays the newest', async () => {
    await roomWithExpiredStart('ret-all-gone', 2, 0);
    const reader = await joined('ret-late', 'ret-all-gone');
    const rejoin = await reader.request({ action: 'join', room: 'ret-all-gone', afterSeq: 0 }, 'history');
    expect(rejoin).toMatchObject({ messages: [], hasMore: false, throughSeq: 2 });
    const again = await reader.request({ action: 'join', room: 'ret-all-gone' }, 'joined');
    expect(again.lastSeq).toBe(2);
  });

  it('the client library joining with a backlog delivers the retained messages once, without waiting for expired ones', async () => {
    await roomWithExpiredStart('ret-backlog', 3, 2);
    const { client, delivered } = libraryClient('ret-library');
    await client.connect();
    expect((await client.join('ret-backlog', { backlog: 10 })).lastSeq).toBe(5);
    await expect.poll(() => delivered.map((m) => m.seq)).toEqual([4, 5]);
    // Still live, and not stuck behind seqs 1-3: the next message arrives in order.
    const writer = await joined('ret-writer-2', 'ret-backlog');
    await writer.request({ action: 'send', room: 'ret-backlog', text: 'live', clientMsgId: 'live-1' }, 'ack');
    await expect.poll(() => delivered.map((m) => m.seq)).toEqual([4, 5, 6]);
  });
});
