import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/app/context.ts';
import { readHistory } from '../../functions/app/messages.ts';
import { sendMessage } from '../../functions/app/messages.ts';
import type { Caller } from '../../functions/app/context.ts';
import { ChatError } from '../../functions/domain/errors.ts';
import type { MessageView } from '../../functions/domain/protocol.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { again, caller, freshRoom, makeDeps, member } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let reader: Caller;
const room = freshRoom('hist');
const sent: MessageView[] = [];

beforeAll(async () => {
  dynamo = await startDynamo('history');
  ({ deps } = makeDeps(dynamo));
  const alice = await member(deps, room, 'alice');
  const bob = await member(deps, room, 'bob');
  for (let i = 1; i <= 7; i++) {
    const from = i % 2 ? alice : bob;
    const { message } = await sendMessage(deps, again(from), { room, text: `message ${i}`, clientMsgId: `m${i}` });
    sent.push({ room: message.room, seq: message.seq, id: message.id, user: message.user, text: message.text, ts: message.ts });
  }
  reader = await member(deps, room, 'reader');
});

afterAll(async () => {
  await dynamo?.close();
});

const seqsOf = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);

describe('readHistory', () => {
  it('precondition: seven messages 1..7', () => {
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('returns the newest page ascending, as message views without clientMsgId', async () => {
    const page = await readHistory(deps, reader, { room, limit: 3 });
    expect(page).toEqual({ room, messages: sent.slice(4, 7), hasMore: true });
    for (const m of page.messages) expect(Object.keys(m).sort()).toEqual(['id', 'room', 'seq', 'text', 'ts', 'user']);
  });

  it('returns everything with the default limit', async () => {
    const page = await readHistory(deps, reader, { room });
    expect(page).toEqual({ room, messages: sent, hasMore: false });
  });

  it('says there is no more when the page is exactly the rest', async () => {
    expect(await readHistory(deps, reader, { room, limit: 7 })).toMatchObject({ hasMore: false });
    expect(seqsOf(await readHistory(deps, reader, { room, limit: 6 }))).toEqual([2, 3, 4, 5, 6, 7]);
    expect(await readHistory(deps, reader, { room, limit: 6 })).toMatchObject({ hasMore: true });
  });

  it('walks back with beforeSeq', async () => {
    const page = await readHistory(deps, reader, { room, beforeSeq: 5, limit: 3 });
    expect(seqsOf(page)).toEqual([2, 3, 4]);
    expect(page.hasMore).toBe(true);
    const last = await readHistory(deps, reader, { room, beforeSeq: 2, limit: 3 });
    expect(seqsOf(last)).toEqual([1]);
    expect(last.hasMore).toBe(false);
  });

  it('walks forward with afterSeq', async () => {
    const page = await readHistory(deps, reader, { room, afterSeq: 0, limit: 3 });
    expect(seqsOf(page)).toEqual([1, 2, 3]);
    expect(page.hasMore).toBe(true);
    const tail = await readHistory(deps, reader, { room, afterSeq: 4, limit: 3 });
    expect(seqsOf(tail)).toEqual([5, 6, 7]);
    expect(tail.hasMore).toBe(false);
    expect(await readHistory(deps, reader, { room, afterSeq: 7 })).toEqual({ room, messages: [], hasMore: false, throughSeq: 7 });
  });

  it('pages inside a window with both bounds', async () => {
    const page = await readHistory(deps, reader, { room, afterSeq: 1, beforeSeq: 6, limit: 2 });
    expect(seqsOf(page)).toEqual([2, 3]);
    expect(page.hasMore).toBe(true);
    const rest = await readHistory(deps, reader, { room, afterSeq: 3, beforeSeq: 6, limit: 2 });
    expect(seqsOf(rest)).toEqual([4, 5]);
    expect(rest.hasMore).toBe(false);
  });

  it('visits every message once when paging back to the start', async () => {
    const seen: number[] = [];
    let page = await readHistory(deps, reader, { room, limit: 2 });
    seen.unshift(...seqsOf(page));
    while (page.hasMore) {
      page = await readHistory(deps, reader, { room, limit: 2, beforeSeq: page.messages[0]!.seq });
      seen.unshift(...seqsOf(page));
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('an empty room has an empty history', async () => {
    const other = freshRoom('empty');
    const c = await member(deps, other, 'dave');
    expect(await readHistory(deps, c, { room: other })).toEqual({ room: other, messages: [], hasMore: false });
  });

  it('stamps each message with the retention after its send, and leaves out those past it', async () => {
    const minute: Deps = { ...deps, messageRetentionSeconds: 60 };
    const retained = freshRoom('retained');
    const sender = await member(minute, retained, 'erin');
    const old = await sendMessage(minute, again(sender), { room: retained, text: 'old', clientMsgId: 'old' });
    expect(old.message.expiresAt).toBe(Math.floor(old.message.ts / 1000) + 60);
    const later = { ...again(sender), nowMs: old.message.ts + 60_000 };
    await sendMessage(minute, later, { room: retained, text: 'new', clientMsgId: 'new' });
    const page = await readHistory(minute, later, { room: retained, afterSeq: 0 });
    expect(page).toEqual({ room: retained, messages: [expect.objectContaining({ seq: 2, text: 'new' })], hasMore: false, throughSeq: 2 });
    expect(seqsOf(await readHistory(minute, later, { room: retained }))).toEqual([2]);
    // A second before its expiry it is still there.
    const before = { ...later, nowMs: later.nowMs - 1000 };
    expect(seqsOf(await readHistory(minute, before, { room: retained, afterSeq: 0 }))).toEqual([1, 2]);
  });

  it('refuses a connection that is not a member', async () => {
    const outsider = caller('mallory');
    const error = await readHistory(deps, outsider, { room }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'NOT_A_MEMBER' });
  });

  it('rejects an empty window as BAD_REQUEST', async () => {
    const error = await readHistory(deps, reader, { room, afterSeq: 3, beforeSeq: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
  });
});
