/** Connections per user: slots claimed with conditional writes, freed on $disconnect, taken over when abandoned. */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnection, CONNECTION_REFUSED_LOG, openConnection, TOO_MANY_CONNECTIONS } from '../../functions/app/connections.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { MAX_CONNECTION_SECONDS } from '../../functions/domain/lifetime.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { caller, makeDeps, type RecordingTelemetry } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let telemetry: RecordingTelemetry;

beforeAll(async () => {
  dynamo = await startDynamo('quota');
  const made = makeDeps(dynamo);
  telemetry = made.telemetry;
  deps = { ...made.deps, connectionsPerUser: 3 };
});

afterAll(async () => {
  await dynamo?.close();
});

async function connectionItem(connectionId: string): Promise<unknown> {
  const { Item } = await dynamo.client.send(new GetCommand({ TableName: dynamo.tableNames.connections, Key: { connectionId }, ConsistentRead: true }));
  return Item;
}

async function slotsOf(userId: string): Promise<string[]> {
  const { Items = [] } = await dynamo.client.send(
    new QueryCommand({
      TableName: dynamo.tableNames.slots,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.connectionId)).sort();
}

describe('connections per user', () => {
  it('opens up to the limit, refuses the next (leaving no connection item), and counts the refusal', async () => {
    const opened = [caller('quota-ann'), caller('quota-ann'), caller('quota-ann')];
    for (const c of opened) expect(await openConnection(deps, c)).toBeUndefined();
    const fourth = caller('quota-ann');
    expect(await openConnection(deps, fourth)).toBe(TOO_MANY_CONNECTIONS);
    expect(await connectionItem(fourth.connectionId)).toBeUndefined();
    expect(await slotsOf('quota-ann')).toEqual(opened.map((c) => c.connectionId).sort());
    expect(telemetry.counts.get('ConnectionsRefused')).toBeGreaterThanOrEqual(1);
    // The refusal is logged (the line carries the userId as a correlation key) with the limit it hit.
    expect(telemetry.warnings).toContainEqual({ message: CONNECTION_REFUSED_LOG, details: { connectionsPerUser: 3 } });
    // Another user is not affected.
    expect(await openConnection(deps, caller('quota-bea'))).toBeUndefined();
  });

  it('never gives more slots than the limit to handshakes racing each other', async () => {
    const racing = Array.from({ length: 12 }, () => caller('quota-cid'));
    const outcomes = await Promise.all(racing.map((c) => openConnection(deps, c)));
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(3);
    expect(outcomes.filter((o) => o === TOO_MANY_CONNECTIONS)).toHaveLength(9);
    expect(await slotsOf('quota-cid')).toHaveLength(3);
  });

  it('frees the slot on $disconnect, so the next handshake gets in', async () => {
    const held = [caller('quota-dee'), caller('quota-dee'), caller('quota-dee')];
    for (const c of held) await openConnection(deps, c);
    expect(await openConnection(deps, caller('quota-dee'))).toBe(TOO_MANY_CONNECTIONS);
    await closeConnection(deps, { ...(held[1] as Caller), nowMs: Date.now() });
    const next = caller('quota-dee');
    expect(await openConnection(deps, next)).toBeUndefined();
    expect(await slotsOf('quota-dee')).toEqual([held[0], held[2], next].map((c) => (c as Caller).connectionId).sort());
  });

  it('takes over a slot whose connection item is gone (its $disconnect was lost and the connection pruned)', async () => {
    const held = [caller('quota-eve'), caller('quota-eve'), caller('quota-eve')];
    for (const c of held) await openConnection(deps, c);
    // What a fan-out does to a connection it finds gone: its item goes, nothing touches its slot.
    await deps.store.deleteConnection((held[0] as Caller).connectionId);
    const next = caller('quota-eve');
    expect(await openConnection(deps, next)).toBeUndefined();
    expect(await slotsOf('quota-eve')).toEqual([held[1], held[2], next].map((c) => (c as Caller).connectionId).sort());
  });

  it('frees a slot past the longest a connection can live, although TTL has not deleted it yet', async () => {
    const later = (c: Caller): Caller => ({ ...c, nowMs: c.nowMs + (MAX_CONNECTION_SECONDS + 3600) * 1000 });
    const held = [caller('quota-fay'), caller('quota-fay'), caller('quota-fay')];
    for (const c of held) await openConnection(deps, c);
    const muchLater = later(caller('quota-fay'));
    expect(await openConnection(deps, muchLater)).toBeUndefined();
  });
});
