/**
 * The handlers themselves (TypeScript sources, Powertools middleware included) against dynalite and a real
 * HTTP server standing in for the @connections endpoint: what each route posts, and its failure paths.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { TABLE_KEYS, tableEnvVar } from '../../functions/catalog/tables.ts';
import type { ApiModel } from '../../local/gateway/api-model.ts';
import { connectEvent, messageEvent, type ConnectionInfo } from '../../local/gateway/events.ts';
import { FAKE_CREDENTIALS, startDynamo, TEST_REGION, type TestDynamo } from '../support/dynamo.ts';

type Handler = (event: unknown, context: Context) => Promise<{ statusCode: number }>;
type Posted = { connectionId: string; frame: Record<string, unknown> };

let dynamo: TestDynamo;
let dynamoRunning = false;
let connectionsApi: Server;
const posted: Posted[] = [];
const goneConnections = new Set<string>();
let handlers: Record<'connect' | 'join' | 'send' | 'history', Handler>;

const api: ApiModel = { apiId: 'testapi001', region: TEST_REGION, stage: 'dev', routeSelectionPath: ['action'], routes: new Map() };
const context = {
  functionName: 'test',
  awsRequestId: 'req',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

function connection(userId: string | undefined, connectionId: string): ConnectionInfo {
  return {
    connectionId,
    connectedAt: Date.now(),
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    domainName: 'localhost',
    authorizer: userId ? { userId, principalId: userId } : undefined,
  };
}

async function call(name: 'join' | 'send' | 'history', conn: ConnectionInfo, frame: unknown) {
  const event = messageEvent(api, conn, name, JSON.stringify(frame), false);
  return { result: await handlers[name](event, context), requestId: event.requestContext.requestId };
}

const postsTo = (connectionId: string) => posted.filter((p) => p.connectionId === connectionId).map((p) => p.frame);

beforeAll(async () => {
  dynamo = await startDynamo('handlers');
  dynamoRunning = true;
  connectionsApi = createServer((req, res) => {
    const connectionId = decodeURIComponent((req.url ?? '').split('/@connections/')[1] ?? '');
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (goneConnections.has(connectionId)) {
        res.writeHead(410, { 'x-amzn-errortype': 'GoneException' }).end('{"message":"gone"}');
        return;
      }
      posted.push({ connectionId, frame: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => connectionsApi.listen(0, '127.0.0.1', resolve));
  const { port } = connectionsApi.address() as AddressInfo;

  // What Lambda and the plan would set; the handlers read it when their modules load.
  Object.assign(process.env, {
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_MAX_ATTEMPTS: '1',
    [ENV.connectionsEndpoint]: `http://127.0.0.1:${port}/dev`,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...Object.fromEntries(TABLE_KEYS.map((t) => [tableEnvVar(t), dynamo.tableNames[t]])),
  });
  handlers = {
    connect: (await import('../../functions/handlers/connect.ts')).handler as unknown as Handler,
    join: (await import('../../functions/handlers/join.ts')).handler as unknown as Handler,
    send: (await import('../../functions/handlers/send.ts')).handler as unknown as Handler,
    history: (await import('../../functions/handlers/history.ts')).handler as unknown as Handler,
  };
});

afterAll(async () => {
  await new Promise((resolve) => connectionsApi.close(resolve));
  if (dynamoRunning) await dynamo.close();
});

describe('message routes', () => {
  const ann = connection('ann', 'conn-ann=');
  const ben = connection('ben', 'conn-ben=');

  it('posts the ack to the sender before fanning the message out to every member', async () => {
    await call('join', ann, { action: 'join', room: 'h1' });
    await call('join', ben, { action: 'join', room: 'h1' });
    expect(postsTo(ben.connectionId)[0]).toEqual({ type: 'joined', room: 'h1', lastSeq: 0, members: ['ann', 'ben'] });

    const { result } = await call('send', ann, { action: 'send', room: 'h1', text: 'hi', clientMsgId: 'k1' });
    expect(result.statusCode).toBe(200);
    const annFrames = postsTo(ann.connectionId);
    const ack = annFrames.find((f) => f.type === 'ack');
    const ackIndex = annFrames.indexOf(ack as Record<string, unknown>);
    expect(ack).toMatchObject({ room: 'h1', clientMsgId: 'k1', seq: 1 });
    expect(annFrames.findIndex((f) => f.type === 'message')).toBeGreaterThan(ackIndex);
    expect(postsTo(ben.connectionId).filter((f) => f.type === 'message')).toEqual([
      { type: 'message', room: 'h1', seq: 1, id: ack?.id, user: 'ann', text: 'hi', ts: ack?.ts },
    ]);
  });

  it('prunes a member whose connection is gone and still acks the sender', async () => {
    const gone = connection('gus', 'conn-gus=');
    await call('join', gone, { action: 'join', room: 'h1' });
    goneConnections.add(gone.connectionId);
    await call('send', ann, { action: 'send', room: 'h1', text: 'anyone?', clientMsgId: 'k2' });
    expect(postsTo(ann.connectionId).some((f) => f.type === 'ack' && f.clientMsgId === 'k2')).toBe(true);
    const { Items } = await dynamo.raw.send(
      new (await import('@aws-sdk/client-dynamodb')).ScanCommand({ TableName: dynamo.tableNames.memberships }),
    );
    expect(Items?.some((m) => m.connectionId?.S === gone.connectionId)).toBe(false);
  });

  it('answers a route reached without authorizer context with a non-retryable INTERNAL error', async () => {
    const anonymous = connection(undefined, 'conn-anon=');
    const { result, requestId } = await call('history', anonymous, { action: 'history', room: 'h1' });
    expect(result.statusCode).toBe(200);
    expect(postsTo(anonymous.connectionId)).toEqual([
      { type: 'error', code: 'INTERNAL', message: 'internal error', requestId, retryable: false },
    ]);
  });

  it('completes the invocation when the reply cannot be posted', async () => {
    const vanished = connection('val', 'conn-val=');
    goneConnections.add(vanished.connectionId);
    const { result } = await call('history', vanished, { action: 'history', room: 'h1' });
    expect(result.statusCode).toBe(200);
  });
});

describe('when DynamoDB is unreachable', () => {
  beforeAll(async () => {
    await dynamo.close();
    dynamoRunning = false;
  });

  it('tells the client to retry with a retryable INTERNAL error that keeps its clientMsgId', async () => {
    const ann = connection('ann', 'conn-ann=');
    const { result, requestId } = await call('send', ann, { action: 'send', room: 'h1', text: 'lost?', clientMsgId: 'k3' });
    expect(result.statusCode).toBe(200);
    expect(postsTo(ann.connectionId).at(-1)).toEqual({
      type: 'error',
      code: 'INTERNAL',
      message: 'a dependency is unavailable; retry',
      requestId,
      retryable: true,
      clientMsgId: 'k3',
    });
  });

  it('rejects the $connect with 500 so the client reconnects later', async () => {
    const conn = connection('ann', 'conn-new=');
    const event = connectEvent(api, conn, { headers: {}, multiValueHeaders: {} });
    expect((await handlers.connect(event, context)).statusCode).toBe(500);
  });
});
