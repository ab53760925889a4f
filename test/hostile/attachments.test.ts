/**
 * Hostile attachments on the local stack: every way to smuggle a file past the rules is refused with its error,
 * and nothing is stored (no message, no object, no attachment record). Each refusal has a positive control: the
 * same request made honestly succeeds.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { describe, expect, it } from 'vitest';
import { parseS3Error, postUpload, uploadForm, UploadRefused } from '../../client/attachments.ts';
import type { UploadGrant } from '../../client/chat-client.ts';
import { functionAccessKeyId } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import type { ChatClient, Frame } from '../support/ws-client.ts';

const { stack, joined } = useStack(() => bootDevStack());

const BODY = Buffer.from('twenty bytes of text');
const MB = 1024 * 1024;
let ids = 0;

async function grantFor(client: ChatClient, room: string, declared: { fileName?: string; contentType?: string; size?: number } = {}): Promise<Frame & UploadGrant> {
  const frame = { action: 'upload', room, fileName: 'notes.txt', contentType: 'text/plain', size: BODY.length, ...declared };
  return (await client.request(frame, 'upload')) as Frame & UploadGrant;
}

async function uploaded(client: ChatClient, room: string): Promise<string> {
  const grant = await grantFor(client, room);
  await postUpload(grant, new Blob([BODY], { type: 'text/plain' }), 'notes.txt');
  return grant.uploadId;
}

async function refusedUpload(post: Promise<unknown>): Promise<UploadRefused> {
  const error = await post.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UploadRefused);
  return error as UploadRefused;
}

/** Sends with `attachments` and expects the error; the room's history does not move. */
async function refusedSend(client: ChatClient, room: string, attachments: unknown[], code: string): Promise<Frame> {
  const before = await client.request({ action: 'history', room }, 'history');
  const error = await client.request({ action: 'send', room, text: 'x', clientMsgId: `h-${++ids}`, attachments }, 'error');
  expect(error).toMatchObject({ code });
  const after = await client.request({ action: 'history', room }, 'history');
  expect(after.messages).toEqual(before.messages);
  return error;
}

describe('a send with attachments that are not its own', () => {
  it("refuses another user's upload id with NOT_FOUND; the uploader may still send it", async () => {
    const room = 'ha-users';
    const bob = await joined('ha-bob', room);
    const eve = await joined('ha-eve', room);
    const uploadId = await uploaded(bob, room);
    await refusedSend(eve, room, [uploadId], 'NOT_FOUND');
    expect(await eve.request({ action: 'download', room, attachmentId: uploadId }, 'error')).toMatchObject({ code: 'NOT_FOUND' });
    await bob.request({ action: 'send', room, text: 'mine', clientMsgId: 'b-1', attachments: [uploadId] }, 'ack');
  });

  it("refuses an upload id from another room with NOT_FOUND; and a download asked through another room", async () => {
    const ann = await joined('ha-ann', 'ha-room-a');
    await ann.request({ action: 'join', room: 'ha-room-b' }, 'joined');
    const uploadId = await uploaded(ann, 'ha-room-a');
    await refusedSend(ann, 'ha-room-b', [uploadId], 'NOT_FOUND');
    await ann.request({ action: 'send', room: 'ha-room-a', text: 'here', clientMsgId: 'a-1', attachments: [uploadId] }, 'ack');
    expect(await ann.request({ action: 'download', room: 'ha-room-b', attachmentId: uploadId }, 'error')).toMatchObject({ code: 'NOT_FOUND' });
    expect(await ann.request({ action: 'download', room: 'ha-room-a', attachmentId: uploadId }, 'download')).toMatchObject({ attachmentId: uploadId });
  });

  it('refuses a replayed attachment with BAD_REQUEST, while a retry of the same send gets its ack again', async () => {
    const room = 'ha-replay';
    const ann = await joined('ha-ann2', room);
    const uploadId = await uploaded(ann, room);
    const first = await ann.request({ action: 'send', room, text: 'once', clientMsgId: 'r-1', attachments: [uploadId] }, 'ack');
    const retry = await ann.request({ action: 'send', room, text: 'once', clientMsgId: 'r-1', attachments: [uploadId] }, 'ack');
    expect(retry).toMatchObject({ seq: first.seq, id: first.id });
    const error = await refusedSend(ann, room, [uploadId], 'BAD_REQUEST');
    expect(error.message).toBe(`attachment ${uploadId} is already attached to a message`);
  });

  it('refuses 5 attachments, one listed twice and ids that are not upload ids with BAD_REQUEST', async () => {
    const room = 'ha-count';
    const ann = await joined('ha-ann3', room);
    // One at a time: upload replies are told apart by order here.
    const four: string[] = [];
    for (let i = 0; i < 4; i++) four.push(await uploaded(ann, room));
    const fifth = await uploaded(ann, room);
    expect((await refusedSend(ann, room, [...four, fifth], 'BAD_REQUEST')).message).toBe('attachments must list at most 4 attachments');
    expect((await refusedSend(ann, room, [fifth, fifth], 'BAD_REQUEST')).message).toBe('attachments must not list an attachment twice');
    await refusedSend(ann, room, ['../../etc/passwd'], 'BAD_REQUEST');
    // Positive control: four of them make one message, and the fifth another.
    await ann.request({ action: 'send', room, text: 'four', clientMsgId: 'c-1', attachments: four }, 'ack');
    await ann.request({ action: 'send', room, text: 'one', clientMsgId: 'c-2', attachments: [fifth] }, 'ack');
  });
});

describe('an upload request', () => {
  const room = 'ha-upload';

  it.each([
    ['a path', '../secrets.txt', 'fileName must not contain path separators'],
    ['a Windows path', '..\\secrets.txt', 'fileName must not contain path separators'],
    ['a control character', 'a\u0007b.txt', 'fileName must not contain control characters'],
    ['a new line', 'a\r\nX-Evil: 1.txt', 'fileName must not contain control characters'],
    ['256 bytes', `${'é'.repeat(126)}.txt`, 'fileName must be at most 255 UTF-8 bytes'],
    ['..', '..', 'fileName must name a file'],
  ])('refuses a file name with %s as BAD_REQUEST', async (_what, fileName, message) => {
    const ann = await joined(`ha-name-${++ids}`, room);
    expect(await ann.request({ action: 'upload', room, fileName, contentType: 'text/plain', size: 3 }, 'error')).toMatchObject({ code: 'BAD_REQUEST', message });
  });

  it("refuses a size over the stage's limit (TOO_LARGE), a type off its allowlist (UNSUPPORTED_TYPE), a non-member (NOT_A_MEMBER)", async () => {
    const ann = await joined('ha-ann4', room);
    expect(await ann.request({ action: 'upload', room, fileName: 'big.pdf', contentType: 'application/pdf', size: 10 * MB + 1 }, 'error')).toMatchObject({
      code: 'TOO_LARGE',
    });
    expect(await ann.request({ action: 'upload', room, fileName: 'x.html', contentType: 'text/html', size: 10 }, 'error')).toMatchObject({
      code: 'UNSUPPORTED_TYPE',
    });
    expect(await ann.request({ action: 'upload', room: 'ha-elsewhere', fileName: 'a.txt', contentType: 'text/plain', size: 10 }, 'error')).toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    expect(await ann.request({ action: 'download', room: 'ha-elsewhere', attachmentId: '00000000-0000-4000-8000-000000000000' }, 'error')).toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    // Positive control: exactly the limit, of an allowed type.
    expect(await ann.request({ action: 'upload', room, fileName: 'big.pdf', contentType: 'application/pdf', size: 10 * MB }, 'upload')).toMatchObject({
      maxBytes: 10 * MB,
    });
  });
});

describe("the bucket enforces the upload's policy as S3 does", () => {
  const room = 'ha-policy';

  it('refuses a body larger or smaller than declared (content-length-range), and nothing is stored', async () => {
    const ann = await joined('ha-ann5', room);
    const grant = await grantFor(ann, room, { size: 10 });
    const larger = await refusedUpload(postUpload(grant, new Blob([BODY]), 'notes.txt'));
    expect(larger).toMatchObject({ status: 400, code: 'EntityTooLarge' });
    const smaller = await refusedUpload(postUpload(grant, new Blob([BODY.subarray(0, 9)]), 'notes.txt'));
    expect(smaller).toMatchObject({ status: 400, code: 'EntityTooSmall' });
    await refusedSend(ann, room, [grant.uploadId], 'NOT_FOUND');
    // Positive control: the declared size goes through.
    await postUpload(grant, new Blob([BODY.subarray(0, 10)]), 'notes.txt');
    await ann.request({ action: 'send', room, text: 'ten', clientMsgId: 'p-1', attachments: [grant.uploadId] }, 'ack');
  });

  it('refuses a content type, key or metadata other than the policy pins, and fields it does not name', async () => {
    const ann = await joined('ha-ann6', room);
    const grant = await grantFor(ann, room, { fileName: 'pic.png', contentType: 'image/png' });
    const tampered = async (change: Record<string, string>) => {
      const fields = { ...grant.fields, ...change };
      const response = await fetch(grant.url, { method: 'POST', body: uploadForm({ ...grant, fields }, new Blob([BODY]), 'pic.png') });
      return parseS3Error(response.status, await response.text());
    };
    const html = await tampered({ 'Content-Type': 'text/html' });
    expect(html).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(html.message).toBe('AccessDenied: Invalid according to Policy: Policy Condition failed: {"Content-Type":"image/png"}');
    expect(await tampered({ key: `rooms/${room}/someone-else/${grant.uploadId}` })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await tampered({ 'x-amz-meta-file-name': 'evil.exe' })).toMatchObject({ status: 403, code: 'AccessDenied' });
    const extra = await tampered({ 'x-amz-meta-owner': 'eve' });
    expect(extra.message).toBe('AccessDenied: Invalid according to Policy: Extra input fields: x-amz-meta-owner');
    expect(await tampered({ 'X-Amz-Signature': '0'.repeat(64) })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    await refusedSend(ann, room, [grant.uploadId], 'NOT_FOUND');
  });

  it('refuses a policy past its expiration', async () => {
    const ann = await joined('ha-ann7', room);
    const fresh = await grantFor(ann, room);
    // The upload function's own credentials, with a clock 6 minutes behind: its 5-minute policy has expired.
    const s3 = new S3Client({
      region: stack.region,
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: functionAccessKeyId('wschat-dev-upload'), secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
      systemClockOffset: -6 * 60 * 1000,
    });
    const expired = await createPresignedPost(s3, {
      Bucket: String(fresh.fields.bucket),
      Key: String(fresh.fields.key),
      Fields: { 'Content-Type': 'text/plain', 'x-amz-meta-file-name': 'notes.txt', tagging: String(fresh.fields.tagging) },
      Conditions: [['content-length-range', BODY.length, BODY.length]],
      Expires: 300,
    });
    s3.destroy();
    const refusal = await refusedUpload(postUpload({ ...fresh, url: expired.url, fields: expired.fields }, new Blob([BODY]), 'notes.txt'));
    expect(refusal).toMatchObject({ status: 403, code: 'AccessDenied', message: 'AccessDenied: Invalid according to Policy: Policy expired.' });
    await refusedSend(ann, room, [fresh.uploadId], 'NOT_FOUND');
    // Positive control: the policy the service handed out is current.
    await postUpload(fresh, new Blob([BODY]), 'notes.txt');
  });

  it("refuses a policy signed by a function whose role may not put objects (the signer's IAM)", async () => {
    const ann = await joined('ha-ann9', room);
    const fresh = await grantFor(ann, room);
    const s3 = new S3Client({
      region: stack.region,
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: functionAccessKeyId('wschat-dev-download'), secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
    });
    const signed = await createPresignedPost(s3, {
      Bucket: String(fresh.fields.bucket),
      Key: String(fresh.fields.key),
      Fields: { 'Content-Type': 'text/plain', 'x-amz-meta-file-name': 'notes.txt', tagging: String(fresh.fields.tagging) },
      Conditions: [['content-length-range', BODY.length, BODY.length]],
      Expires: 300,
    });
    s3.destroy();
    const refusal = await refusedUpload(postUpload({ ...fresh, url: signed.url, fields: signed.fields }, new Blob([BODY]), 'notes.txt'));
    expect(refusal).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(refusal.message).toMatch(/wschat-dev-download-fn.* is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::wschat-dev-attachments-local\/rooms\//);
    await refusedSend(ann, room, [fresh.uploadId], 'NOT_FOUND');
  });

  it('refuses an unsigned upload (public access is blocked)', async () => {
    const ann = await joined('ha-ann8', room);
    const grant = await grantFor(ann, room);
    const form = new FormData();
    form.append('key', String(grant.fields.key));
    form.append('file', new Blob([BODY]), 'notes.txt');
    const response = await fetch(grant.url, { method: 'POST', body: form });
    expect(parseS3Error(response.status, await response.text())).toMatchObject({ status: 403, code: 'AccessDenied' });
    await refusedSend(ann, room, [grant.uploadId], 'NOT_FOUND');
  });
});
