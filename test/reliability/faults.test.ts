/** A worker dying mid-invocation, and clients vanishing without a close frame. */
import { describe, expect, it } from 'vitest';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, type Frame } from '../support/ws-client.ts';

const { stack } = useStack(() => bootDevStack());

async function connect(user: string): Promise<ChatClient> {
  return ChatClient.connect(stack.wsUrl(await stack.tokenFor(user)));
}

describe('a send worker dies mid-invocation', () => {
  it('answers with API Gateway\'s error frame, stores the retried message once, and cold-starts the next invocation', async () => {
    const sender = await connect('crash-sender');
    await sender.request({ action: 'join', room: 'crash' }, 'joined');
    const sendFunction = stack.functions.find((f) => f.endsWith('-send')) as string;
    const coldStartsBefore = stack.printed.filter((l) => l.startsWith(`${sendFunction} INIT cold start`)).length;

    stack.faults.inject({ kind: 'function-crash', functionName: sendFunction });
    const before = sender.frames.length;
    sender.send({ action: 'send', room: 'crash', text: 'survives a crash', clientMsgId: 'crash-1' });
    // The function cannot answer for itself; API Gateway's frame is what a client gets (no clientMsgId in it).
    const failure = await sender.next((f) => sender.frames.indexOf(f) >= before && f.message === 'Internal server error');
    expect(failure).toMatchObject({ message: 'Internal server error', connectionId: expect.any(String), requestId: expect.any(String) });
    stack.faults.clear();

    const ack = await sender.request({ action: 'send', room: 'crash', text: 'survives a crash', clientMsgId: 'crash-1' }, 'ack');
    const replay = await sender.request({ action: 'send', room: 'crash', text: 'survives a crash', clientMsgId: 'crash-1' }, 'ack');
    expect(replay).toEqual(ack);
    const history = await sender.request({ action: 'history', room: 'crash' }, 'history');
    expect((history.messages as Frame[]).map((m) => [m.seq, m.text])).toEqual([[1, 'survives a crash']]);
    const coldStartsAfter = stack.printed.filter((l) => l.startsWith(`${sendFunction} INIT cold start`)).length;
    expect(coldStartsAfter).toBeGreaterThan(coldStartsBefore);
    await sender.close();
  });
});

describe('100 clients vanish without a close frame', () => {
  it('are pruned by the next fan-out, counted, and the sender never sees an error for it', { timeout: 180_000 }, async () => {
    const sender = await connect('survivor');
    await sender.request({ action: 'join', room: 'ghost-town' }, 'joined');
    const ghosts: ChatClient[] = [];
    // In batches: each join announces itself to everyone already in the room.
    for (let batch = 0; batch < 100; batch += 10) {
      // Ten users with ten connections each: presence is per user, so the room hears ten joins, not a hundred.
      const joined = await Promise.all(Array.from({ length: 10 }, () => connect(`ghost-${batch / 10}`)));
      await Promise.all(joined.map((g) => g.request({ action: 'join', room: 'ghost-town' }, 'joined')));
      ghosts.push(...joined);
    }

    // Every join has been announced (so no announcement is still under way when the ghosts go).
    await expect.poll(() => sender.ofType('presence').filter((f) => f.event === 'join').length, { timeout: 60_000 }).toBe(10);
    // Counted before the sockets die: a presence fan-out still reaching the ghosts may prune some of them first.
    const prunedBefore = stack.metrics.stat({ namespace: 'WsChat', name: 'StaleConnectionsPruned', dimensions: { service: 'wschat', stage: stack.stage } }, 'Sum', 0, Date.now() + 1);
    // Their sockets die, and like a lost network no $disconnect reaches the backend: the fault stays on until the
    // end, so a close the loaded gateway handles late cannot send one either.
    stack.faults.inject({ kind: 'lost-disconnects' });
    const open = stack.gateway.connectionCount;
    for (const ghost of ghosts) ghost.ws.terminate();
    // The gateway has seen every ghost go, so the fan-out below meets 100 gone connections.
    await expect.poll(() => stack.gateway.connectionCount, { timeout: 30_000 }).toBe(open - ghosts.length);

    sender.send({ action: 'send', room: 'ghost-town', text: 'anyone here?', clientMsgId: 'g-1' });
    const ack = await sender.next((f) => f.type === 'ack' && f.clientMsgId === 'g-1', 30_000);
    await sender.next((f) => f.type === 'message' && f.seq === ack.seq, 30_000);
    await expect
      .poll(() => stack.metrics.stat({ namespace: 'WsChat', name: 'StaleConnectionsPruned', dimensions: { service: 'wschat', stage: stack.stage } }, 'Sum', 0, Date.now() + 1), { timeout: 20_000 })
      .toBe((prunedBefore ?? 0) + 100);
    // Presence sees every vanished user leave, though no $disconnect ever came.
    await expect
      .poll(() => sender.ofType('presence').filter((f) => f.event === 'leave').map((f) => f.user).sort(), { timeout: 20_000 })
      .toEqual(Array.from({ length: 10 }, (_, i) => `ghost-${i}`).sort());
    stack.faults.clear();
    expect(sender.ofType('error')).toEqual([]);
    const who = await sender.request({ action: 'join', room: 'ghost-town' }, 'joined');
    expect(who.members).toEqual(['survivor']);
    await sender.close();
  });
});
