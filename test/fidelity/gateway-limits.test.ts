/**
 * The WebSocket limits and events of the local gateway, through real sockets: binary frames, the 32 KB frame and
 * 128 KB message limits, @connections DELETE, and what $disconnect is told. The plan copy routes $default and
 * $disconnect to a fixture function that logs the event it receives, so events are read as a function sees them.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from 'vitest';
import { ChatClient } from '../support/ws-client.ts';
import { eventShapeViolations } from './event-contract.ts';
import { addFunction, bootEditedStack, type PlanJson } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';
import { functionAccessKeyId, OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';

const ECHO = `export const handler = async (event) => { console.log('EVENT ' + JSON.stringify(event)); return { statusCode: 200 }; };`;
const KB = 1024;

type ReceivedEvent = { body?: string; isBase64Encoded?: boolean; requestContext: Record<string, unknown> & { connectionId: string; eventType: string } };

function routeTo(plan: PlanJson, routeKey: string, functionResource: string): void {
  const route = Object.values(plan.resource.aws_apigatewayv2_route ?? {}).find((r) => r.route_key === routeKey);
  if (!route) throw new Error(`the plan has no ${routeKey} route`);
  const integration = /aws_apigatewayv2_integration\.([^.]+)\./.exec(String(route.target))?.[1] as string;
  (plan.resource.aws_apigatewayv2_integration as Record<string, Record<string, unknown>>)[integration]!.integration_uri =
    `\${aws_lambda_function.${functionResource}.invoke_arn}`;
}

/** Events the fixture received, oldest first. */
function received(predicate: (e: ReceivedEvent) => boolean): ReceivedEvent[] {
  return stack.printed
    .filter((line) => line.startsWith('wschat-dev-echo EVENT '))
    .map((line) => JSON.parse(line.slice('wschat-dev-echo EVENT '.length)) as ReceivedEvent)
    .filter(predicate);
}

/** Sends one binary message as several frames (fragments) of the given sizes. */
function sendFragments(client: ChatClient, sizes: number[], fill = 0x61): void {
  sizes.forEach((size, i) => client.ws.send(Buffer.alloc(size, fill), { binary: true, fin: i === sizes.length - 1 }));
}

/** A binary probe that reaches the fixture: returns the connection id the gateway gave this client. */
async function connectionIdOf(client: ChatClient, marker: number): Promise<string> {
  client.ws.send(Buffer.from([marker]), { binary: true });
  const base64 = Buffer.from([marker]).toString('base64');
  await expect.poll(() => received((e) => e.body === base64).length).toBe(1);
  return (received((e) => e.body === base64)[0] as ReceivedEvent).requestContext.connectionId;
}

const { stack, connect } = useStack(() =>
  bootEditedStack((plan, dir) => {
    addFunction(plan, dir, { id: 'echo', source: ECHO });
    routeTo(plan, '$default', 'fixture_echo');
    routeTo(plan, '$disconnect', 'fixture_echo');
  }),
);

describe('frames and messages', () => {
  it('delivers a binary frame base64-encoded with isBase64Encoded, in a documented MESSAGE event', async () => {
    const client = await connect('alice');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    client.ws.send(bytes, { binary: true });
    await expect.poll(() => received((e) => e.body === bytes.toString('base64')).length).toBe(1);
    const event = received((e) => e.body === bytes.toString('base64'))[0] as ReceivedEvent;
    expect(event.isBase64Encoded).toBe(true);
    expect(event.requestContext.routeKey).toBe('$default');
    expect(eventShapeViolations(event, 'MESSAGE')).toEqual([]);
  });

  it('accepts a message of several frames up to 128 KB in total and delivers it whole', async () => {
    const client = await connect('bob');
    sendFragments(client, [32 * KB, 32 * KB, 32 * KB, 32 * KB], 0x62);
    const expected = Buffer.alloc(128 * KB, 0x62).toString('base64');
    await expect.poll(() => received((e) => e.body === expected).length, { timeout: 10_000 }).toBe(1);
    expect(client.closed).toBeUndefined();
  });

  it('closes with 1009 when the frames of one message add up to more than 128 KB, delivering nothing', async () => {
    const client = await connect('carol');
    sendFragments(client, [32 * KB, 32 * KB, 32 * KB, 32 * KB, 1], 0x63);
    expect((await client.closedWith()).code).toBe(1009);
    expect(received((e) => (e.body?.length ?? 0) > 100 * KB && e.body?.startsWith('Y2Nj') === true)).toEqual([]);
  });

  it('closes with 1009 when one frame of a small message is over 32 KB', async () => {
    const client = await connect('dave');
    sendFragments(client, [4 * KB, 32 * KB + 1], 0x64);
    expect((await client.closedWith()).code).toBe(1009);
    expect(received((e) => e.body?.startsWith('ZGRk') === true)).toEqual([]);
  });
});

describe('@connections DELETE and $disconnect', () => {
  // The operator closes connections; a post is signed as the fan-out function, whose role may post.
  const management = (accessKeyId = OPERATOR_ACCESS_KEY_ID) =>
    new ApiGatewayManagementApiClient({
      endpoint: `http://127.0.0.1:${stack.port}/${stack.stage}`,
      region: stack.region,
      credentials: { accessKeyId, secretAccessKey: 'local' },
    });

  it('closes the socket on DELETE; later posts are Gone', async () => {
    const client = await connect('erin');
    const connectionId = await connectionIdOf(client, 0xe1);
    await management().send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect((await client.closedWith()).code).toBe(1000);
    const gone = await management(functionAccessKeyId('wschat-dev-fanout'))
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{}') }))
      .catch((e: unknown) => e as Error);
    expect((gone as Error).name).toBe('GoneException');
  });

  it('tells $disconnect the close code and reason the client sent, in a documented DISCONNECT event', async () => {
    const client = await connect('frank');
    const connectionId = await connectionIdOf(client, 0xf1);
    client.ws.close(4000, 'bye for now');
    const ofThis = (e: ReceivedEvent) => e.requestContext.eventType === 'DISCONNECT' && e.requestContext.connectionId === connectionId;
    await expect.poll(() => received(ofThis).length).toBe(1);
    const event = received(ofThis)[0] as ReceivedEvent;
    expect(event.requestContext).toMatchObject({ routeKey: '$disconnect', disconnectStatusCode: 4000, disconnectReason: 'bye for now' });
    expect(eventShapeViolations(event, 'DISCONNECT')).toEqual([]);
  });

  it('reports 1009 and its reason to $disconnect for a connection closed over a too-big frame', async () => {
    const client = await connect('grace');
    const connectionId = await connectionIdOf(client, 0x91);
    client.ws.send(Buffer.alloc(40 * KB), { binary: true });
    await client.closedWith();
    const ofThis = (e: ReceivedEvent) => e.requestContext.eventType === 'DISCONNECT' && e.requestContext.connectionId === connectionId;
    await expect.poll(() => received(ofThis).length).toBe(1);
    expect((received(ofThis)[0] as ReceivedEvent).requestContext).toMatchObject({ disconnectStatusCode: 1009, disconnectReason: 'Message too big' });
  });
});
