/**
 * Attachments end to end on the local stack: a member asks for a presigned POST over the WebSocket, uploads the
 * file with a real multipart HTTP POST to the plan's bucket (the local S3), sends a message carrying it, and the
 * other member gets it in the message and in history and downloads it with a presigned GET.
 */
import { describe, expect, it } from 'vitest';
import { parseS3Error, postUpload, uploadForm } from '../../client/attachments.ts';
import type { UploadGrant } from '../../client/chat-client.ts';
import { S3AttachmentStorage } from '../../functions/adapters/s3-attachments.ts';
import { functionAccessKeyId } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import type { ChatClient, Frame } from '../support/ws-client.ts';

const { stack, joined } = useStack(() => bootDevStack());

const attachmentBucket = () => String(stack.buckets.find((b) => b.name.startsWith('wschat-dev-attachments-'))?.name);

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

async function upload(client: ChatClient, room: string, body: Buffer, file: { fileName: string; contentType: string }): Promise<string> {
  const grant = (await client.request({ action: 'upload', room, ...file, size: body.length, requestId: 'u-1' }, 'upload')) as Frame & UploadGrant;
  await postUpload(grant, new Blob([body], { type: file.contentType }), file.fileName);
  return grant.uploadId;
}

describe('an attachment', () => {
  const room = 'att-room';

  it('is uploaded straight to the bucket, sent, delivered, kept in history and downloaded by another member', async () => {
    const ann = await joined('att-ann', room);
    const bob = await joined('att-bob', room);

    const grant = await ann.request(
      { action: 'upload', room, fileName: 'pixel.png', contentType: 'image/png', size: PNG.length, requestId: 'r-7' },
      'upload',
    );
    expect(grant).toMatchObject({ type: 'upload', room, maxBytes: PNG.length, requestId: 'r-7', url: `${stack.s3Endpoint}/${attachmentBucket()}` });
    const uploadId = String(grant.uploadId);
    expect(Date.parse(String(grant.expiresAt)) - Date.now()).toBeGreaterThan(4 * 60 * 1000);
    // The key is the service's (room/user/uploadId), never the file name.
    expect((grant.fields as Record<string, string>).key).toBe(`rooms/${room}/att-ann/${uploadId}`);
    await postUpload(grant as Frame & UploadGrant, new Blob([PNG], { type: 'image/png' }), 'pixel.png');

    const ack = await ann.request({ action: 'send', room, text: 'look', clientMsgId: 'a-1', attachments: [uploadId] }, 'ack');
    const attachment = { id: uploadId, fileName: 'pixel.png', contentType: 'image/png', size: PNG.length };
    const delivered = await bob.next((f) => f.type === 'message' && f.seq === ack.seq);
    expect(delivered).toMatchObject({ text: 'look', user: 'att-ann', attachments: [attachment] });
    const history = await bob.request({ action: 'history', room }, 'history');
    expect((history.messages as Frame[]).at(-1)).toMatchObject({ seq: ack.seq, attachments: [attachment] });

    const link = await bob.request({ action: 'download', room, attachmentId: uploadId }, 'download');
    expect(link).toMatchObject({ type: 'download', attachmentId: uploadId });
    const response = await fetch(String(link.url));
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG);
    expect(response.headers.get('content-type')).toBe('image/png');
    // An image on the stage's inline list may be shown in the page.
    expect(response.headers.get('content-disposition')).toMatch(/^inline; filename="pixel.png"/);
  });

  it('of a type outside the inline list downloads as a file, and a message may carry only files', async () => {
    const ann = await joined('att-ann2', room);
    const text = Buffer.from('meeting notes\n');
    const uploadId = await upload(ann, room, text, { fileName: 'notes ü.txt', contentType: 'text/plain' });
    const ack = await ann.request({ action: 'send', room, text: '', clientMsgId: 'a-2', attachments: [uploadId] }, 'ack');
    expect(ack).toMatchObject({ room, clientMsgId: 'a-2' });
    const link = await ann.request({ action: 'download', room, attachmentId: uploadId }, 'download');
    const response = await fetch(String(link.url));
    expect(await response.text()).toBe('meeting notes\n');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="notes _.txt"; filename*=UTF-8''notes%20%C3%BC.txt`);
  });

  it('is private: the bucket refuses unsigned reads, and a tampered download link', async () => {
    const ann = await joined('att-ann3', room);
    const uploadId = await upload(ann, room, PNG, { fileName: 'p.png', contentType: 'image/png' });
    await ann.request({ action: 'send', room, text: 'p', clientMsgId: 'a-3', attachments: [uploadId] }, 'ack');
    const link = new URL(String((await ann.request({ action: 'download', room, attachmentId: uploadId }, 'download')).url));
    const unsigned = await fetch(`${link.origin}${link.pathname}`);
    expect(unsigned.status).toBe(403);
    expect(parseS3Error(unsigned.status, await unsigned.text()).code).toBe('AccessDenied');
    const tampered = new URL(link);
    tampered.searchParams.set('response-content-disposition', 'inline');
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(parseS3Error(refused.status, await refused.text()).code).toBe('SignatureDoesNotMatch');
    // Positive control: the link as given works.
    expect((await fetch(link)).status).toBe(200);
  });

  it('is uploaded from the browser origin the plan allows (CORS)', async () => {
    const ann = await joined('att-ann4', room);
    const grant = (await ann.request({ action: 'upload', room, fileName: 'c.png', contentType: 'image/png', size: PNG.length }, 'upload')) as Frame & UploadGrant;
    const pageOrigin = `http://127.0.0.1:${stack.port}`;
    const preflight = await fetch(grant.url, { method: 'OPTIONS', headers: { origin: pageOrigin, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const stranger = await fetch(grant.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(stranger.status).toBe(403);
    const posted = await fetch(grant.url, { method: 'POST', body: uploadForm(grant, new Blob([PNG], { type: 'image/png' }), 'c.png'), headers: { origin: pageOrigin } });
    expect(posted.status).toBe(204);
    expect(posted.headers.get('access-control-allow-origin')).toBeTruthy();
  });

  it("fails S3 calls the signer's role does not allow with an SDK-shaped 403 (not a missing object)", async () => {
    const storageAs = (fn: string) =>
      new S3AttachmentStorage({
        bucket: String(attachmentBucket()),
        region: stack.region,
        endpoint: stack.s3Endpoint,
        credentials: async () => ({ accessKeyId: functionAccessKeyId(fn), secretAccessKey: LOCAL_SECRET_ACCESS_KEY }),
      });
    const key = 'rooms/att-room/att-ann/0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0';
    const who = storageAs('wschat-dev-who');
    await expect(who.describe(key)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await expect(who.markAttached(key)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    // Positive control: the send function's role may HEAD, and a missing object is undefined.
    expect(await storageAs('wschat-dev-send').describe(key)).toBeUndefined();
  });
});
