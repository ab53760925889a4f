/**
 * `ops/admin-cli.ts erase-user` as an operator runs it: a child process with the operator identity's credentials
 * (local IAM holds it to the plan's operator policy on DynamoDB, S3 and @connections) against the local stack.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { postUpload } from '../../client/attachments.ts';
import type { UploadGrant } from '../../client/chat-client.ts';
import { ChatClient as LibraryClient } from '../../client/index.ts';
import { nodeWebSocket } from '../../client/node.ts';
import { S3AttachmentStorage } from '../../functions/adapters/s3-attachments.ts';
import { TABLE_KEYS } from '../../functions/catalog/tables.ts';
import { attachmentKey } from '../../functions/domain/attachments.ts';
import type { MessageView } from '../../functions/domain/protocol.ts';
import { functionAccessKeyId } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { runAdmin } from '../support/admin-cli.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import type { ChatClient, Frame } from '../support/ws-client.ts';

const { stack, connect, joined } = useStack(() => bootDevStack());
const libraryClients: LibraryClient[] = [];

afterAll(() => {
  for (const client of libraryClients.splice(0)) client.close();
});

const attachmentBucket = () => String(stack.buckets.find((b) => b.name.startsWith('wschat-dev-attachments-'))?.name);
const endpoint = () => `http://127.0.0.1:${stack.port}/${stack.stage}`;

const admin = (args: string[], accessKeyId?: string) => runAdmin(stack, args, accessKeyId);

const eraseArgs = (user: string) => ['erase-user', '--user', user, '--stage', 'dev', '--connections-endpoint', endpoint(), '--attachments-bucket', attachmentBucket()];

/** Every item of every table that names `user` in any attribute, read straight from DynamoDB. */
async function itemsNaming(user: string): Promise<string[]> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: stack.region, credentials: { accessKeyId: 'TESTREADER', secretAccessKey: 'x' } }),
  );
  const found: string[] = [];
  for (const table of TABLE_KEYS) {
    for await (const page of paginateScan({ client: db }, { TableName: `wschat-dev-${table}` })) {
      for (const item of page.Items ?? []) if (JSON.stringify(item).includes(`"${user}"`)) found.push(`${table}: ${JSON.stringify(item)}`);
    }
  }
  db.destroy();
  return found;
}

const sendText = (client: ChatClient, room: string, text: string, extra: Record<string, unknown> = {}) =>
  client.request({ action: 'send', room, text, clientMsgId: `${text}-id`, ...extra }, 'ack');

let kept: ChatClient | undefined;

async function keptUser(): Promise<ChatClient> {
  const client = await joined('erase-kept', 'erase-kept-room');
  await sendText(client, 'erase-kept-room', 'kept');
  return client;
}

describe('admin erase-user', () => {
  const room = 'erase-public';
  const privateRoom = 'erase-private';

  it("deletes the user's messages, files, memberships, presence, roles and connections, and no one else's; the room's seqs stay", async () => {
    const keeper = await joined('erase-keeper', room);
    const leaver = await joined('erase-leaver', room);
    await keeper.request({ action: 'join', room: privateRoom, visibility: 'private' }, 'joined');
    await keeper.request({ action: 'invite', room: privateRoom, user: 'erase-leaver' }, 'invited');
    await leaver.request({ action: 'join', room: privateRoom }, 'joined');
    const body = Buffer.from('notes of the leaver');
    const grant = (await leaver.request(
      { action: 'upload', room, fileName: 'notes.txt', contentType: 'text/plain', size: body.length, requestId: 'r-1' },
      'upload',
    )) as Frame & UploadGrant;
    await postUpload(grant, new Blob([body], { type: 'text/plain' }), 'notes.txt');
    await sendText(keeper, room, 'k1');
    await sendText(leaver, room, 'l1', { attachments: [grant.uploadId] });
    await sendText(keeper, room, 'k2');
    await sendText(leaver, room, 'l2');
    await sendText(keeper, room, 'k3');
    await sendText(leaver, privateRoom, 'l-private');
    expect(await itemsNaming('erase-leaver')).not.toEqual([]);

    const run = await admin(eraseArgs('erase-leaver'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Memberships, presence, the connection record and the slot may be deleted first by the $disconnect that the
    // closed connection runs meanwhile: their counts depend on that race, what is left afterwards does not.
    expect(run.stdout).toMatch(
      /^dev: erased erase-leaver: 3 message\(s\), 1 attachment\(s\), [0-2] membership\(s\), [0-2] presence item\(s\), 1 role\(s\), [01] connection record\(s\), [01] slot\(s\); closed 1 connection\(s\)$/m,
    );
    expect((await leaver.closedWith()).code).toBe(1000);
    expect(await itemsNaming('erase-leaver')).toEqual([]);

    // Read as the send function, which may HEAD any attachment: the file is gone from the bucket.
    const storage = new S3AttachmentStorage({
      bucket: attachmentBucket(),
      region: stack.region,
      endpoint: stack.s3Endpoint,
      credentials: async () => ({ accessKeyId: functionAccessKeyId('wschat-dev-send'), secretAccessKey: LOCAL_SECRET_ACCESS_KEY }),
    });
    expect(await storage.describe(attachmentKey(room, 'erase-leaver', grant.uploadId))).toBeUndefined();

    // The others' messages keep their seqs; the page is complete through the newest, so the holes are not gaps.
    const page = await keeper.request({ action: 'history', room, afterSeq: 0 }, 'history');
    expect((page.messages as MessageView[]).map((m) => [m.seq, m.text])).toEqual([
      [1, 'k1'],
      [3, 'k2'],
      [5, 'k3'],
    ]);
    expect(page).toMatchObject({ hasMore: false, throughSeq: 5 });
    // A new message takes the next seq, never an erased one.
    expect((await sendText(keeper, room, 'k4')).seq).toBe(6);
    // The invitation is gone: back with a new connection, the user is refused the private room.
    const returning = await connect('erase-leaver');
    expect(await returning.request({ action: 'join', room: privateRoom }, 'error')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('the client library joining after the erasure delivers the remaining messages once, without waiting for erased seqs', async () => {
    const reader = new LibraryClient({ url: stack.url, token: () => stack.tokenFor('erase-reader'), webSocket: nodeWebSocket, requestTimeoutMs: 3000 });
    libraryClients.push(reader);
    const delivered: MessageView[] = [];
    reader.on('message', (m) => delivered.push(m));
    await reader.connect();
    expect((await reader.join(room, { backlog: 10 })).lastSeq).toBe(6);
    await expect.poll(() => delivered.map((m) => m.text)).toEqual(['k1', 'k2', 'k3', 'k4']);
  });

  it('fails, erasing nothing, when its credentials are not the operator identity', async () => {
    const target = await joined('erase-not-operator', 'erase-not-operator-room');
    await sendText(target, 'erase-not-operator-room', 'stays');
    const before = await itemsNaming('erase-not-operator');
    expect(before.filter((item) => item.startsWith('messages:'))).toHaveLength(1);
    const run = await admin(eraseArgs('erase-not-operator'), 'a-developer');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/UnrecognizedClientException|security token/);
    expect((await target.request({ action: 'ping' }, 'pong')).type).toBe('pong');
    expect((await itemsNaming('erase-not-operator')).filter((item) => item.startsWith('messages:'))).toEqual(
      before.filter((item) => item.startsWith('messages:')),
    );
  });

  it.each([
    [['erase-user'], '--user is required'],
    [['erase-user', '--user', 'bad user!'], '--user must match'],
    [['erase-user', '--user', 'erase-kept', '--stage', 'staging'], '--stage must be one of: dev, prod'],
    [['erase-user', '--user', 'erase-kept', '--connections-endpoint', 'http://127.0.0.1:1/dev'], '--attachments-bucket (or WSCHAT_ATTACHMENTS_BUCKET) is required'],
    [['erase-user', '--user', 'erase-kept', '--connections-endpoint', 'http://127.0.0.1:1/dev', '--attachments-bucket', 'Not_A_Bucket'], '--attachments-bucket must be an S3 bucket name'],
    [['erase-user', '--user', 'erase-kept', '--attachments-bucket', 'b-1'], '--connections-endpoint (or WSCHAT_CONNECTIONS_ENDPOINT) is required'],
    [['erase-user', '--user', 'erase-kept', '--everything'], "Unknown option '--everything'"],
    [['disconnect', '--user', 'erase-kept', '--attachments-bucket', 'b-1'], "Unknown option '--attachments-bucket'"],
  ])('refuses %j before anything runs: %s', async (args, message) => {
    // User "erase-kept" is the one the valid flags would erase: their message and connection must survive.
    kept ??= await keptUser();
    const before = await itemsNaming('erase-kept');
    const run = await admin(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run admin -- disconnect --user <user>');
    expect(run.stderr).toContain('npm run admin -- erase-user --user <user>');
    expect(run.stdout).toBe('');
    expect((await kept.request({ action: 'ping' }, 'pong')).type).toBe('pong');
    const messages = (await itemsNaming('erase-kept')).filter((item) => item.startsWith('messages:'));
    expect(messages).toHaveLength(1);
    expect(messages).toEqual(before.filter((item) => item.startsWith('messages:')));
  });
});
