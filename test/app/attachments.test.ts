/**
 * The attachment use cases on the real store (dynalite). The bucket is replaced by an in-memory AttachmentStorage:
 * what these tests produce — two sends racing for one upload between their check and their claim, an upload whose
 * object turns out bigger than the stage now allows — cannot be produced deterministically through S3. The real
 * bucket path is covered end to end by test/e2e/attachments.test.ts and test/hostile/attachments.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimAttachments, requestDownload, requestUpload } from '../../functions/app/attachments.ts';
import type { Deps } from '../../functions/app/context.ts';
import { idempotencyKey, sendMessage } from '../../functions/app/messages.ts';
import type { AttachmentStorage } from '../../functions/app/ports.ts';
import { attachmentKey, type AttachmentPolicy, type StoredUpload } from '../../functions/domain/attachments.ts';
import { startDynamo, type TestDynamo } from '../support/dynamo.ts';
import { freshRoom, makeDeps, member, type RecordingTelemetry, rejection } from './harness.ts';

/** Objects by key, as the bucket would hold them after their uploads. */
class MemoryStorage implements AttachmentStorage {
  readonly objects = new Map<string, StoredUpload>();
  readonly attached = new Set<string>();

  async presignUpload(key: string) {
    return { url: 'https://bucket.example/', fields: { key } };
  }
  async describe(key: string) {
    return this.objects.get(key);
  }
  async markAttached(key: string) {
    this.attached.add(key);
  }
  async presignDownload(key: string, disposition: string) {
    return `https://bucket.example/${key}?disposition=${encodeURIComponent(disposition)}`;
  }
}

const policy: AttachmentPolicy = { maxBytes: 1000, contentTypes: ['image/png', 'text/plain'], inlineTypes: ['image/png'] };
let dynamo: TestDynamo;
let deps: Deps;
let storage: MemoryStorage;
let telemetry: RecordingTelemetry;

beforeAll(async () => {
  dynamo = await startDynamo('attachments');
  const made = makeDeps(dynamo);
  storage = new MemoryStorage();
  telemetry = made.telemetry;
  deps = { ...made.deps, attachments: { policy, storage } };
});

afterAll(async () => {
  await dynamo?.close();
});

function uploadedBy(room: string, userId: string, stored: StoredUpload = { fileName: 'a.txt', contentType: 'text/plain', size: 10 }): string {
  const id = randomUUID();
  storage.objects.set(attachmentKey(room, userId, id), stored);
  return id;
}

describe('requestUpload', () => {
  it('presigns under the service key for a member, and counts it', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const before = telemetry.total('AttachmentUploadsPresigned');
    const grant = await requestUpload(deps, ann, { room, fileName: 'a.png', contentType: 'image/png', size: 10 });
    expect(grant.fields.key).toBe(`rooms/${room}/ann/${grant.uploadId}`);
    expect(grant).toMatchObject({ room, maxBytes: 10, expiresAt: new Date(ann.nowMs + 300_000).toISOString() });
    expect(telemetry.total('AttachmentUploadsPresigned')).toBe(before + 1);
  });

  it('counts refusals by reason', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const [large, type] = [telemetry.total('AttachmentsRefusedTooLarge'), telemetry.total('AttachmentsRefusedUnsupportedType')];
    expect((await rejection(requestUpload(deps, ann, { room, fileName: 'a', contentType: 'text/plain', size: 1001 }))).code).toBe('TOO_LARGE');
    expect((await rejection(requestUpload(deps, ann, { room, fileName: 'a', contentType: 'text/html', size: 1 }))).code).toBe('UNSUPPORTED_TYPE');
    expect(telemetry.total('AttachmentsRefusedTooLarge')).toBe(large + 1);
    expect(telemetry.total('AttachmentsRefusedUnsupportedType')).toBe(type + 1);
  });
});

describe('a send with attachments', () => {
  it('stores them on the message, records them for downloads and tags their objects attached', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const id = uploadedBy(room, 'ann');
    const { message } = await sendMessage(deps, ann, { room, text: 'x', clientMsgId: 'c-1', attachments: [id] });
    expect(message.attachments).toEqual([{ id, fileName: 'a.txt', contentType: 'text/plain', size: 10 }]);
    expect(storage.attached.has(attachmentKey(room, 'ann', id))).toBe(true);
    const bob = await member(deps, room, 'bob');
    const link = await requestDownload(deps, bob, { room, attachmentId: id });
    expect(link.url).toContain(encodeURIComponent('attachment; filename="a.txt"'));
  });

  it('refuses an object no longer within the stage policy (a setting shrank), storing nothing', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const id = uploadedBy(room, 'ann', { fileName: 'big.txt', contentType: 'text/plain', size: 5000 });
    expect((await rejection(sendMessage(deps, ann, { room, text: 'x', clientMsgId: 'c-1', attachments: [id] }))).code).toBe('TOO_LARGE');
    expect(await deps.store.lastSeq(room)).toBe(0);
    expect(await deps.store.getAttachment(id)).toBeUndefined();
  });

  it('loses a race for one upload as a whole: the claims it made are given back, the send claim too, nothing stored', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const [first, contested] = [uploadedBy(room, 'ann'), uploadedBy(room, 'ann')];
    // Another send of ann's claims the second upload after this one checked it, before this one claims it.
    const rival = idempotencyKey(room, 'ann', 'rival');
    const race: Deps = {
      ...deps,
      store: new Proxy(deps.store, {
        get: (target, method) =>
          method === 'claimAttachment'
            ? async (record: Parameters<typeof target.claimAttachment>[0]) => {
                if (record.attachmentId === contested) await target.claimAttachment({ ...record, attachedBy: rival });
                return target.claimAttachment(record);
              }
            : Reflect.get(target, method),
      }),
    };
    const error = await rejection(sendMessage(race, ann, { room, text: 'x', clientMsgId: 'c-1', attachments: [first, contested] }));
    expect(error).toMatchObject({ code: 'BAD_REQUEST', message: `attachment ${contested} is already attached to a message` });
    expect(await deps.store.getAttachment(first)).toBeUndefined();
    expect((await deps.store.getAttachment(contested))?.attachedBy).toBe(rival);
    expect(await deps.store.lastSeq(room)).toBe(0);
    // The send claim was released: the same clientMsgId with the free upload is a new send, not IN_PROGRESS.
    const { message } = await sendMessage(deps, ann, { room, text: 'x', clientMsgId: 'c-1', attachments: [first] });
    expect(message.seq).toBe(1);
  });

  it('claims attachments for its own send key again (a retry), and for no other', async () => {
    const room = freshRoom();
    const ann = await member(deps, room, 'ann');
    const id = uploadedBy(room, 'ann');
    const key = idempotencyKey(room, 'ann', 'c-1');
    const view = { id, fileName: 'a.txt', contentType: 'text/plain', size: 10 };
    await claimAttachments(deps, ann, room, [view], key);
    await claimAttachments(deps, ann, room, [view], key);
    expect((await rejection(claimAttachments(deps, ann, room, [view], idempotencyKey(room, 'ann', 'c-2')))).code).toBe('BAD_REQUEST');
  });
});
