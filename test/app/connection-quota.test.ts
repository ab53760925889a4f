/** Connections per user: slots claimed with conditional writes, freed on $disconnect, taken over when abandoned. */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeConnection,
  CONNECTION_REFUSED_LOG,
  openConnection,
  SLOT_LOOKUP_FAILED_LOG,
  TOO_MANY_CONNECTIONS,
} from '../../functions/app/connections.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import type { ConnectionNotifier } from '../../functions/app/ports.ts';
import { HANDSHAKE_SETTLED_MS } from '../../functions/domain/connection-quota.ts';
import { MAX_CONNECTION_SECONDS } from '../../functions/domain/lifetime.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { caller, makeDeps, RecordingNotifier, type RecordingTelemetry } from './harness.ts';

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

describe('slots held by connections API Gateway reports gone (their $disconnect late or lost)', () => {
  /** A quota of 3 whose `@connections` is `notifier`; holders claim their slots at `claimedAt`. */
  function withNotifier(notifier: ConnectionNotifier) {
    const made = makeDeps(dynamo, notifier);
    return { deps: { ...made.deps, connectionsPerUser: 3 }, telemetry: made.telemetry };
  }

  async function fill(d: Deps, user: string): Promise<Caller[]> {
    const held = [caller(user), caller(user), caller(user)];
    for (const c of held) expect(await openConnection(d, c)).toBeUndefined();
    return held;
  }

  /** A handshake once the holders' handshakes have settled. */
  const settled = (user: string): Caller => {
    const c = caller(user);
    return { ...c, nowMs: c.nowMs + HANDSHAKE_SETTLED_MS };
  };

  /** Counts the lookups; answers as RecordingNotifier does (open unless in `gone`). */
  class CountingNotifier extends RecordingNotifier {
    readonly asked: string[] = [];
    override async isOpen(connectionId: string): Promise<boolean> {
      this.asked.push(connectionId);
      return super.isOpen(connectionId);
    }
  }

  it('takes over the slot of a settled holder that is gone, leaving its connection item to its $disconnect or TTL', async () => {
    const notifier = new CountingNotifier();
    const { deps: d } = withNotifier(notifier);
    const held = await fill(d, 'gone-ann');
    const dropped = held[1] as Caller;
    notifier.gone.add(dropped.connectionId);
    const next = settled('gone-ann');
    expect(await openConnection(d, next)).toBeUndefined();
    expect(await slotsOf('gone-ann')).toEqual([held[0], held[2], next].map((c) => (c as Caller).connectionId).sort());
    expect(notifier.asked).toContain(dropped.connectionId);
    // As when a holder's item is gone, only the slot changes hands: the dropped connection's records stay.
    expect(await connectionItem(dropped.connectionId)).toBeDefined();
    // Its late $disconnect then frees nothing of the new holder's.
    await closeConnection(d, { ...dropped, nowMs: next.nowMs });
    expect(await slotsOf('gone-ann')).toEqual([held[0], held[2], next].map((c) => (c as Caller).connectionId).sort());
  });

  it('refuses while the holders may still be in their handshake, without asking about them', async () => {
    const notifier = new CountingNotifier();
    const { deps: d } = withNotifier(notifier);
    const held = await fill(d, 'gone-bea');
    for (const c of held) notifier.gone.add(c.connectionId);
    const early = caller('gone-bea');
    expect(await openConnection(d, { ...early, nowMs: early.nowMs + HANDSHAKE_SETTLED_MS - 1000 })).toBe(TOO_MANY_CONNECTIONS);
    expect(notifier.asked).toEqual([]);
    expect(await connectionItem(early.connectionId)).toBeUndefined();
    expect(await slotsOf('gone-bea')).toEqual(held.map((c) => c.connectionId).sort());
  });

  it('refuses when every holder is open, after asking about each', async () => {
    const notifier = new CountingNotifier();
    const { deps: d, telemetry: recorded } = withNotifier(notifier);
    const held = await fill(d, 'gone-cid');
    expect(await openConnection(d, settled('gone-cid'))).toBe(TOO_MANY_CONNECTIONS);
    expect(notifier.asked.sort()).toEqual(held.map((c) => c.connectionId).sort());
    expect(await slotsOf('gone-cid')).toEqual(held.map((c) => c.connectionId).sort());
    expect(recorded.total('ConnectionsRefused')).toBe(1);
  });

  it('refuses, takes nothing and warns when @connections cannot say (a live connection is never evicted on a guess)', async () => {
    // The lookup's failure (a 5xx, a throttle, a network error) is a fault the use case cannot produce otherwise.
    const failing = new (class extends RecordingNotifier {
      override async isOpen(): Promise<boolean> {
        throw Object.assign(new Error('@connections answered 500 InternalServerErrorException'), { name: 'InternalServerErrorException' });
      }
    })();
    const { deps: d, telemetry: recorded } = withNotifier(failing);
    const held = await fill(d, 'gone-dee');
    expect(await openConnection(d, settled('gone-dee'))).toBe(TOO_MANY_CONNECTIONS);
    expect(await slotsOf('gone-dee')).toEqual(held.map((c) => c.connectionId).sort());
    expect(recorded.warnings).toContainEqual({
      message: SLOT_LOOKUP_FAILED_LOG,
      details: { holder: expect.any(String), error: expect.stringMatching(/InternalServerErrorException/) },
    });
    expect(recorded.warnings).toContainEqual({ message: CONNECTION_REFUSED_LOG, details: { connectionsPerUser: 3 } });
  });

  it("gives each gone holder's slot to one of the handshakes racing for it", async () => {
    const notifier = new RecordingNotifier();
    const { deps: d } = withNotifier(notifier);
    const held = await fill(d, 'gone-eve');
    for (const c of held.slice(0, 2)) notifier.gone.add(c.connectionId);
    const racing = Array.from({ length: 8 }, () => settled('gone-eve'));
    const outcomes = await Promise.all(racing.map((c) => openConnection(d, c)));
    const admitted = racing.filter((_, i) => outcomes[i] === undefined).map((c) => c.connectionId);
    expect(admitted).toHaveLength(2);
    expect(await slotsOf('gone-eve')).toEqual([held[2] as Caller, ...racing.filter((c) => admitted.includes(c.connectionId))].map((c) => c.connectionId).sort());
  });
});
