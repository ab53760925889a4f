/**
 * The storm bench's stack in a process of its own (bench/storm-stack.ts through bench/storm-remote.ts): it boots
 * in another process, reports the dev stage's limits from the plan, accepts tokens the clients' process mints with
 * the stack's signing key, counts cold starts and drops every connection on request, and leaves nothing behind when
 * disconnected. The storm itself runs in test/e2e/storm.test.ts, in-process.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStormStack, type RemoteStormStack } from '../../bench/storm-remote.ts';
import { ChatClient } from '../../client/chat-client.ts';
import { nodeWebSocket } from '../../client/node.ts';
import { STAGES } from '../../infra/config/stages.ts';
import { stackDir } from '../support/plan.ts';

let remote: RemoteStormStack;
const clients: ChatClient[] = [];

beforeAll(async () => {
  remote = await startStormStack(stackDir('wschat-dev'));
});
afterAll(async () => {
  for (const client of clients) client.close();
  await remote?.stop();
});

describe("the storm bench's stack process", () => {
  it('runs in another process and reports the plan limits the storm lays its rooms out by', () => {
    expect(remote.pid).not.toBe(process.pid);
    const { connectionsPerUser, membersPerRoom, roomsPerConnection } = STAGES.dev.limits;
    expect(remote.ready.limits).toEqual({ connectionsPerUser, membersPerRoom, roomsPerConnection });
  });

  it('accepts tokens minted in this process, counts cold starts, drops every connection on request and sees the client back', async () => {
    const client = new ChatClient({ url: remote.stack.url, token: () => remote.stack.mint('storm-probe'), webSocket: nodeWebSocket });
    clients.push(client);
    await client.connect();
    await client.join('storm-probe-room');
    const cold = await remote.stack.coldStarts();
    // The authorizer and connect ran for the first time: each had to start an environment (more, if one timed out).
    expect(cold['wschat-dev-authorizer']).toBeGreaterThanOrEqual(1);
    expect(cold['wschat-dev-connect']).toBeGreaterThanOrEqual(1);

    const rejoined = new Promise((resolve) => client.on('joined', resolve));
    expect(await remote.stack.dropAllConnections()).toBe(1);
    await rejoined;
  });

  it('exits on disconnect and removes its state dir, signing key included', async () => {
    await remote.stop();
    expect(existsSync(remote.ready.stateDir)).toBe(false);
  });
});
