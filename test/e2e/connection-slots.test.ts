/**
 * Connection slots held by connections that are gone (issue #16): a user whose connections were all dropped
 * without `$disconnect` gets back in once the holders' handshakes have settled, because `$connect` asks
 * `@connections` whether each holder is still open; live holders still refuse the handshake, and so does a
 * lookup that fails. The functions' clock stands still while slots are claimed and is then moved past the settle
 * time, so "still settling" and "settled" do not depend on how fast this machine is.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SLOT_LOOKUP_FAILED_LOG } from '../../functions/app/connections.ts';
import { HANDSHAKE_SETTLED_MS, TOO_MANY_CONNECTIONS_STATUS } from '../../functions/domain/connection-quota.ts';
import { connectionsPerUserInPlan } from '../../local/crowd.ts';
import { FunctionClock } from '../../local/lambda/function-clock.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { type ChatClient, handshakeStatus } from '../support/ws-client.ts';

const functionClock = new FunctionClock();
const { stack, connect } = useStack(() => bootDevStack({ functionClock }));

let db: DynamoDBClient | undefined;
afterAll(() => db?.destroy());

afterEach((context) => {
  stack.faults.clear();
  functionClock.resume();
  if (context.task.result?.state === 'fail') console.log(stack.printed.slice(-60).join('\n'));
});

/** The connection ids holding the user's slots, as the slots table has them. */
async function slotHolders(user: string): Promise<string[]> {
  db ??= new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.tables.find((t) => t.endsWith('-slots')),
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': { S: user } },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.connectionId?.S)).sort();
}

const handshake = async (user: string) => handshakeStatus(stack.wsUrl(await stack.tokenFor(user)));

/** Fills the user's slots with connections that answer a ping (so they are open, not just recorded). */
async function fillSlots(user: string): Promise<ChatClient[]> {
  const held: ChatClient[] = [];
  for (let i = 0; i < connectionsPerUserInPlan(stack); i++) held.push(await connect(user));
  for (const client of held) await client.request({ action: 'ping' }, 'pong');
  expect(await handshake(user)).toBe(TOO_MANY_CONNECTIONS_STATUS);
  return held;
}

/**
 * Fills the user's slots, then cuts every one of those connections without its `$disconnect` (lost, as AWS
 * allows): the slots and connection items stay, the gateway no longer knows the connections. Returns the holders.
 */
async function strandSlots(user: string): Promise<string[]> {
  stack.faults.inject({ kind: 'lost-disconnects' });
  const open = stack.gateway.connectionCount;
  const held = await fillSlots(user);
  const holders = await slotHolders(user);
  for (const client of held) client.ws.terminate();
  await expect.poll(() => stack.gateway.connectionCount).toBe(open);
  stack.faults.clear('lost-disconnects');
  return holders;
}

describe('connection slots held by connections that are gone', () => {
  it('lets a user whose connections were all dropped without $disconnect back in once the holders have settled', async () => {
    functionClock.stop();
    const stranded = await strandSlots('slots-ann');
    expect(stranded).toHaveLength(connectionsPerUserInPlan(stack));
    // The holders might still be in their handshakes: nobody is asked, and the handshake is refused.
    expect(await handshake('slots-ann')).toBe(TOO_MANY_CONNECTIONS_STATUS);
    expect(await slotHolders('slots-ann')).toEqual(stranded);

    functionClock.advance(HANDSHAKE_SETTLED_MS);
    // Every slot is taken over, one reconnect at a time, as the client library's reconnects arrive.
    const back: ChatClient[] = [];
    for (let i = 0; i < stranded.length; i++) back.push(await connect('slots-ann'));
    for (const client of back) await client.request({ action: 'ping' }, 'pong');
    const holders = await slotHolders('slots-ann');
    expect(holders).toHaveLength(stranded.length);
    expect(holders.filter((id) => stranded.includes(id))).toEqual([]);
    // Full again, with live holders: the next one is refused.
    expect(await handshake('slots-ann')).toBe(TOO_MANY_CONNECTIONS_STATUS);
  });

  it('still refuses a user whose slots are held by open connections, settled or not', async () => {
    functionClock.stop();
    const held = await fillSlots('slots-bea');
    const holders = await slotHolders('slots-bea');
    functionClock.advance(HANDSHAKE_SETTLED_MS);
    expect(await handshake('slots-bea')).toBe(TOO_MANY_CONNECTIONS_STATUS);
    expect(await slotHolders('slots-bea')).toEqual(holders);
    // None of them was closed or evicted.
    for (const client of held) await client.request({ action: 'ping' }, 'pong');
  });

  it('refuses, and takes no slot, when @connections cannot answer the lookup; admits once it can', async () => {
    functionClock.stop();
    const stranded = await strandSlots('slots-cid');
    functionClock.advance(HANDSHAKE_SETTLED_MS);
    // The local gateway answers @connections GET 500 on the dependency's behalf: no local fault produces one.
    stack.faults.inject({ kind: 'connections-api-error', method: 'GET' });
    expect(await handshake('slots-cid')).toBe(TOO_MANY_CONNECTIONS_STATUS);
    expect(await slotHolders('slots-cid')).toEqual(stranded);
    expect(stack.printed.some((line) => line.includes(SLOT_LOOKUP_FAILED_LOG) && line.includes('InternalServerErrorException'))).toBe(true);

    stack.faults.clear('connections-api-error');
    const back = await connect('slots-cid');
    await back.request({ action: 'ping' }, 'pong');
    expect((await slotHolders('slots-cid')).filter((id) => !stranded.includes(id))).toHaveLength(1);
  });
});
