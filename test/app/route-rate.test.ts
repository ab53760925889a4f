/** The per-connection token bucket of every route but send, against the real store on dynalite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { chargeRoute } from '../../functions/app/route-rate.ts';
import type { RouteRate } from '../../functions/domain/token-bucket.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { caller, makeDeps, type RecordingTelemetry, rejection } from './harness.ts';

let dynamo: TestDynamo;
let deps: Deps;
let telemetry: RecordingTelemetry;
const rate: RouteRate = { ratePerSecond: 2, burst: 3 };

beforeAll(async () => {
  dynamo = await startDynamo('route-rate');
  const made = makeDeps(dynamo);
  deps = { ...made.deps, routeRate: rate };
  telemetry = made.telemetry;
});

afterAll(async () => {
  await dynamo?.close();
});

const at = (c: Caller, nowMs: number): Caller => ({ ...c, nowMs });

describe('chargeRoute', () => {
  it('admits a burst, then refuses with RATE_LIMITED and the wait until the next token', async () => {
    const alice = caller('alice');
    const t0 = alice.nowMs;
    for (let i = 0; i < 3; i++) await chargeRoute(deps, at(alice, t0), 'join');
    const refused = telemetry.total('RouteRateLimited');
    const error = await rejection(chargeRoute(deps, at(alice, t0), 'join'));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterMs: 500 });
    expect(telemetry.total('RouteRateLimited')).toBe(refused + 1);
    // The wait it named is enough: one token is back after it, and only one.
    await chargeRoute(deps, at(alice, t0 + 500), 'join');
    expect((await rejection(chargeRoute(deps, at(alice, t0 + 500), 'join'))).retryAfterMs).toBe(500);
  });

  it('refills a quiet bucket to its burst, not beyond', async () => {
    const bob = caller('bob');
    const t0 = bob.nowMs;
    for (let i = 0; i < 3; i++) await chargeRoute(deps, at(bob, t0), 'who');
    const later = t0 + 60_000;
    for (let i = 0; i < 3; i++) await chargeRoute(deps, at(bob, later), 'who');
    expect((await rejection(chargeRoute(deps, at(bob, later), 'who'))).code).toBe('RATE_LIMITED');
  });

  it('keeps one bucket per route and per connection', async () => {
    const carol = caller('carol');
    const otherTab = caller('carol');
    for (let i = 0; i < 3; i++) await chargeRoute(deps, carol, 'leave');
    await rejection(chargeRoute(deps, carol, 'leave'));
    await chargeRoute(deps, carol, 'history');
    await chargeRoute(deps, otherTab, 'leave');
  });

  it('admits exactly a burst of concurrent requests', async () => {
    const dave = caller('dave');
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => chargeRoute(deps, dave, 'typing')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
  });

  it('does not limit a function without a configured rate', async () => {
    const unlimited = { ...deps, routeRate: undefined };
    const erin = caller('erin');
    for (let i = 0; i < 10; i++) await chargeRoute(unlimited, erin, 'join');
  });
});
