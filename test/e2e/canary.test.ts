/**
 * The synthetic chat user on the local stack: the plan's schedule runs the canary function against the local
 * gateway with a real token from the local issuer's client-credentials endpoint and its secret from the local
 * Secrets Manager; its identity is confined to its room; its failures are reported by metrics and logs.
 */
import { describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../functions/adapters/client-credentials.ts';
import { webSocketOpener } from '../../functions/adapters/websocket-client.ts';
import { runCanary, type CanaryResult } from '../../functions/app/canary.ts';
import { CANARY_ROOM } from '../../functions/catalog/functions.ts';
import { functionAccessKeyId } from '../../local/iam.ts';
import { LOCAL_IDP } from '../../local/idp.ts';
import { functionNameInPlan } from '../../local/plan-names.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, handshakeStatus } from '../support/ws-client.ts';

// 10: the canary runs every 6 s, so a few runs fit in a test and each has time to finish on a busy machine.
const { stack } = useStack(() => bootDevStack({ timeScale: 10, runSchedules: true }));

const SERVICE_DIMENSIONS = { service: 'wschat', stage: 'dev' };
const since = Date.now();

function canaryStat(name: string, stat: string): number | undefined {
  return stack.metrics.stat({ namespace: 'WsChat', name, dimensions: SERVICE_DIMENSIONS }, stat, since, Date.now() + 1);
}

async function tokenResponse(credentials: { id: string; secret: string }, form: Record<string, string>): Promise<Response> {
  return fetch(`http://127.0.0.1:${stack.port}${LOCAL_IDP.oauthTokenPath}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials.id}:${credentials.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
}

async function canaryToken(): Promise<string> {
  const { clientId, clientSecret, scope } = stack.canaryClient;
  const response = await tokenResponse({ id: clientId, secret: clientSecret }, { grant_type: 'client_credentials', scope });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('the canary', () => {
  it('runs on the plan schedule and succeeds at every step, publishing success and each step latency', async () => {
    await expect.poll(() => canaryStat('CanarySuccess', 'SampleCount') ?? 0, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    expect(canaryStat('CanarySuccess', 'Minimum')).toBe(1);
    for (const step of ['Token', 'Connect', 'Join', 'Ack', 'Delivery', 'History', 'Disconnect']) {
      expect(canaryStat(`Canary${step}Latency`, 'SampleCount'), step).toBeGreaterThanOrEqual(2);
    }
    // Its message went through the room like anyone's: stored, and read back by history.
    const watcher = await ChatClient.connect(stack.wsUrl(await canaryToken()));
    const joined = await watcher.request({ action: 'join', room: CANARY_ROOM }, 'joined');
    expect(joined.lastSeq as number).toBeGreaterThanOrEqual(2);
    await watcher.close();
  });

  it("reports a failed step as CanarySuccess 0 and a log line naming it (join crashes)", async () => {
    const joinFunction = functionNameInPlan(stack.plan, 'join');
    const injected = Date.now();
    stack.faults.inject({ kind: 'function-crash', functionName: joinFunction });
    try {
      await expect
        .poll(() => stack.metrics.stat({ namespace: 'WsChat', name: 'CanarySuccess', dimensions: SERVICE_DIMENSIONS }, 'Minimum', injected, Date.now() + 1), { timeout: 60_000 })
        .toBe(0);
    } finally {
      stack.faults.clear();
    }
    expect(stack.printed.some((line) => line.includes('canary run failed') && line.includes('"failedStep":"join"'))).toBe(true);
  });
});

describe('a canary run names the step that failed', () => {
  const run = (options: { secret?: string; url?: string } = {}): Promise<CanaryResult> => {
    const { clientId, clientSecret, scope } = stack.canaryClient;
    const tokens = new ClientCredentialsTokenSource({
      tokenEndpoint: `http://127.0.0.1:${stack.port}${LOCAL_IDP.oauthTokenPath}`,
      scope,
      credentials: async () => ({ clientId, clientSecret: options.secret ?? clientSecret }),
    });
    return runCanary(
      { tokens, sockets: webSocketOpener, now: () => performance.now() },
      { url: options.url ?? stack.url, room: CANARY_ROOM, stepTimeoutMs: 5000, runId: `test-${Math.random().toString(36).slice(2)}` },
    );
  };

  it('succeeds against the stack with the real adapters (positive control)', async () => {
    const result = await run();
    expect(result).toMatchObject({ ok: true });
    expect(Object.keys(result.latencyMs).sort()).toEqual(['ack', 'connect', 'delivery', 'disconnect', 'history', 'join', 'token']);
  });

  it('token: the issuer refuses its credentials', async () => {
    expect(await run({ secret: 'rotated-elsewhere' })).toMatchObject({ ok: false, failedStep: 'token', reason: 'the token endpoint answered 401 invalid_client' });
  });

  it('connect: the handshake is refused', async () => {
    expect(await run({ url: stack.url.replace(/\/dev$/, '/nope') })).toMatchObject({ ok: false, failedStep: 'connect' });
  });

  it.each([
    ['send', 'ack'],
    ['history', 'history'],
  ] as const)("%s crashes: the run fails at %s with API Gateway's message, not the step timeout's", async (route, step) => {
    stack.faults.inject({ kind: 'function-crash', functionName: functionNameInPlan(stack.plan, route) });
    try {
      const result = await run();
      expect(result).toMatchObject({ ok: false, failedStep: step, reason: expect.stringMatching(/^API Gateway answered "Internal server error" \(request .+\)$/) });
      expect(result.latencyMs).toHaveProperty('join');
    } finally {
      stack.faults.clear();
    }
  });
});

describe("the canary's identity", () => {
  it('gets a token only with its own secret, grant and scope (RFC 6749 errors otherwise)', async () => {
    const { clientId, clientSecret, scope } = stack.canaryClient;
    const good = { id: clientId, secret: clientSecret };
    expect((await tokenResponse({ id: clientId, secret: 'wrong' }, { grant_type: 'client_credentials', scope })).status).toBe(401);
    expect((await tokenResponse({ id: 'someone-else', secret: clientSecret }, { grant_type: 'client_credentials', scope })).status).toBe(401);
    const badScope = await tokenResponse(good, { grant_type: 'client_credentials', scope: 'wschat/admin' });
    expect([badScope.status, await badScope.json()]).toEqual([400, { error: 'invalid_scope' }]);
    const badGrant = await tokenResponse(good, { grant_type: 'password', scope });
    expect([badGrant.status, await badGrant.json()]).toEqual([400, { error: 'unsupported_grant_type' }]);
    expect((await tokenResponse(good, { grant_type: 'client_credentials', scope })).status).toBe(200);
  });

  it('enters the canary room and can neither read nor write any other room', async () => {
    // A room with a message in it, by a user.
    const alice = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('canary-alice')));
    await alice.request({ action: 'join', room: 'general' }, 'joined');
    await alice.request({ action: 'send', room: 'general', text: 'not for the canary', clientMsgId: 'a-1' }, 'ack');

    const canary = await ChatClient.connect(stack.wsUrl(await canaryToken()));
    expect(await canary.request({ action: 'join', room: CANARY_ROOM }, 'joined')).toMatchObject({ room: CANARY_ROOM });
    expect(await canary.request({ action: 'join', room: 'general' }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    expect(await canary.request({ action: 'history', room: 'general' }, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(await canary.request({ action: 'send', room: 'general', text: 'hi', clientMsgId: 'c-1' }, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(await canary.request({ action: 'who', room: 'general' }, 'error')).toMatchObject({ code: 'NOT_A_MEMBER' });
    // Creating a room of its own is joining one, which its scope forbids too.
    expect(await canary.request({ action: 'join', room: 'canary-private', visibility: 'private' }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    expect(alice.frames.filter((f) => f.type === 'message' && f.user === stack.canaryClient.clientId)).toEqual([]);
    await canary.close();
    await alice.close();
  });

  it("refuses machine tokens of another client or without the canary's scope", async () => {
    const { clientId, scope } = stack.canaryClient;
    expect(await handshakeStatus(stack.wsUrl(await stack.idp.mintClientToken('another-client', scope, 600)))).toBe(401);
    expect(await handshakeStatus(stack.wsUrl(await stack.idp.mintClientToken(clientId, 'wschat/other', 600)))).toBe(401);
    expect(await handshakeStatus(stack.wsUrl(await stack.idp.mintClientToken(clientId, scope, 600)))).toBe(101);
  });

  it('its secret is readable by the canary function alone', async () => {
    const secretArn = stack.functionEnvironment(functionNameInPlan(stack.plan, 'canary')).CANARY_SECRET_ARN as string;
    const endpoint = stack.functionEnvironment(functionNameInPlan(stack.plan, 'canary')).AWS_ENDPOINT_URL_SECRETS_MANAGER as string;
    const read = async (functionName: string) => {
      const credential = `${functionAccessKeyId(functionNameInPlan(stack.plan, functionName))}/20261203/us-east-1/secretsmanager/aws4_request`;
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'x-amz-target': 'secretsmanager.GetSecretValue', authorization: `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=host, Signature=0` },
        body: JSON.stringify({ SecretId: secretArn }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await read('canary')).toMatchObject({ status: 200, body: { SecretString: stack.canaryClient.clientSecret } });
    for (const other of ['authorizer', 'send', 'join']) {
      expect(await read(other), other).toMatchObject({ status: 400, body: { __type: 'AccessDeniedException' } });
    }
  });
});
