/**
 * API Gateway's throttles on the local stack: the stage's per-route token buckets from the plan (a copy with the
 * ping route lowered to a burst of 2), and the account's new-connection rate and request quota (booted with lower
 * quotas than AWS's defaults, so a handful of requests reaches them).
 */
import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../local/gateway/limits.ts';
import { virtualClock } from '../support/virtual-clock.ts';
import { handshakeStatus } from '../support/ws-client.ts';
import { bootEditedStack, resourceOf } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';
import { OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';

/** Buckets refill only when the test moves this clock: no handshake can race a refill on a busy machine. */
const clock = virtualClock();

const { stack, connect } = useStack(() =>
  bootEditedStack(
    (plan) => {
      const stage = resourceOf(plan, 'aws_apigatewayv2_stage', 'stage') as { route_settings?: Record<string, unknown>[] };
      stage.route_settings = [
        ...(stage.route_settings ?? []),
        { route_key: 'ping', throttling_rate_limit: 0.01, throttling_burst_limit: 2, detailed_metrics_enabled: false },
      ];
    },
    // The account's request quota (shared with @connections) lowered too: a burst of 20, barely refilled.
    { quotas: { newConnectionsPerSecond: 2, requestsPerSecond: 0.01, requestsBurst: 20 }, gatewayClock: clock.now },
  ),
);

const apiMetric = (name: string) => {
  const key = stack.metrics.keys().find((k) => k.namespace === 'AWS/ApiGateway' && k.name === name);
  return key ? stack.metrics.stat(key, 'Sum', 0, Date.now() + 1) : undefined;
};

describe('new connections per second (account quota)', () => {
  it('answers handshakes beyond the rate with 429 before the authorizer runs', async () => {
    // Without a token the authorizer's identity source is missing (401): no function runs for any of these.
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await handshakeStatus(stack.wsUrl()));
    expect(statuses).toEqual([401, 401, 429]);
    expect(stack.printed.some((line) => line.startsWith('apigateway ') && line.includes('"status":"429"'))).toBe(true);
    clock.advance(499); // the bucket refills at 2 per second: not yet one token
    expect(await handshakeStatus(stack.wsUrl())).toBe(429);
    clock.advance(1);
    expect(await handshakeStatus(stack.wsUrl())).toBe(401);
  });
});

describe('route throttling from the stage settings', () => {
  it('answers a message beyond the route burst with Too Many Requests and counts a ClientError', async () => {
    clock.advance(1000); // the new-connection bucket, emptied above, refills
    const client = await connect('alice');
    const clientErrorsBefore = apiMetric('ClientError') ?? 0;
    for (let i = 0; i < 3; i++) client.send({ action: 'ping' });
    const throttled = await client.next((f) => f.message === 'Too Many Requests');
    expect(throttled).toEqual({ message: 'Too Many Requests', connectionId: expect.any(String), requestId: expect.any(String) });
    await expect.poll(() => client.ofType('pong').length).toBe(2);
    expect(apiMetric('ClientError')).toBe(clientErrorsBefore + 1);
    // Each route has its own bucket: another route still answers.
    expect((await client.request({ action: 'history', room: 'nowhere' }, 'error')).code).toBe('NOT_A_MEMBER');
  });
});

describe('the account request quota', () => {
  it('answers @connections calls beyond it with 429 LimitExceededException', async () => {
    const management = new ApiGatewayManagementApiClient({
      endpoint: `http://127.0.0.1:${stack.port}/${stack.stage}`,
      region: stack.region,
      maxAttempts: 1,
      credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: 'local' },
    });
    const names: string[] = [];
    for (let i = 0; i < 25 && !names.includes('LimitExceededException'); i++) {
      const error = (await management.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' })).catch((e: unknown) => e)) as Error;
      names.push(error.name);
    }
    expect(names.at(-1)).toBe('LimitExceededException');
    expect(new Set(names.slice(0, -1))).toEqual(new Set(['GoneException']));
  });
});

describe('token bucket', () => {
  it('allows the burst, then refills at the rate and never beyond the burst', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 499;
    expect(bucket.take()).toBe(false);
    now = 500;
    expect(bucket.take()).toBe(true);
    now = 60_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('rejects a negative or missing limit', () => {
    expect(() => new TokenBucket(-1, 1)).toThrow(/rate and burst >= 0/);
    expect(() => new TokenBucket(Number.NaN, 1)).toThrow(/rate and burst >= 0/);
  });
});
