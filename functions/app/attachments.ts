/**
 * Attachments (docs/protocol.md#attachments): presigning an upload for a member, turning uploads into a message's
 * attachments exactly once, presigning a download for a member. Files never pass through here: S3 holds them.
 */
import type { CustomMetricName } from '../../dashboards/metrics.ts';
import {
  attachmentFrom,
  attachmentKey,
  checkUpload,
  contentDisposition,
  DOWNLOAD_URL_SECONDS,
  UPLOAD_URL_SECONDS,
  type AttachmentView,
} from '../domain/attachments.ts';
import { ChatError, type ErrorCode } from '../domain/errors.ts';
import type { DownloadRequest, UploadRequest } from '../domain/protocol.ts';
import type { Attachments, Caller, Deps } from './context.ts';
import { requireMembership } from './membership.ts';
import type { AttachmentRecord } from './ports.ts';

const REFUSALS: Partial<Record<ErrorCode, CustomMetricName>> = {
  NOT_FOUND: 'AttachmentsRefusedNotFound',
  TOO_LARGE: 'AttachmentsRefusedTooLarge',
  UNSUPPORTED_TYPE: 'AttachmentsRefusedUnsupportedType',
  BAD_REQUEST: 'AttachmentsRefusedAlreadyAttached',
};

/** Counts a refusal under its reason and passes it on. */
function refused(deps: Deps, error: unknown): never {
  const metric = error instanceof ChatError ? REFUSALS[error.code] : undefined;
  if (metric) deps.telemetry.count(metric);
  throw error;
}

/** Functions serving attachments are wired with the bucket; one without it is misconfigured, not the client. */
function attachmentsOf(deps: Deps): Attachments {
  if (!deps.attachments) throw new Error('this function is wired without the attachment bucket');
  return deps.attachments;
}

export interface UploadGrant {
  readonly room: string;
  readonly uploadId: string;
  readonly url: string;
  readonly fields: Record<string, string>;
  readonly expiresAt: string;
  readonly maxBytes: number;
}

/** A presigned POST for one file of exactly the declared size and type, under a key the service chooses. */
export async function requestUpload(deps: Deps, caller: Caller, req: UploadRequest): Promise<UploadGrant> {
  const { policy, storage } = attachmentsOf(deps);
  try {
    checkUpload(req, policy);
  } catch (error) {
    refused(deps, error);
  }
  await requireMembership(deps, caller, req.room);
  const uploadId = deps.newId();
  const presigned = await storage.presignUpload(attachmentKey(req.room, caller.userId, uploadId), req, UPLOAD_URL_SECONDS);
  deps.telemetry.count('AttachmentUploadsPresigned');
  return {
    room: req.room,
    uploadId,
    url: presigned.url,
    fields: presigned.fields,
    expiresAt: new Date(caller.nowMs + UPLOAD_URL_SECONDS * 1000).toISOString(),
    maxBytes: req.size,
  };
}

/**
 * The attachments a send declares, checked before anything is stored: each must be an object this user uploaded
 * for this room (its key says so: another user's or room's upload id names no object here), of a type and size
 * the stage allows, and not attached to another message. `sendKey` is the send's idempotency key: its own earlier
 * try may hold them already.
 */
export async function resolveAttachments(
  deps: Deps,
  caller: Caller,
  room: string,
  uploadIds: readonly string[],
  sendKey: string,
): Promise<AttachmentView[]> {
  if (uploadIds.length === 0) return [];
  const { policy, storage } = attachmentsOf(deps);
  try {
    return await Promise.all(
      uploadIds.map(async (id) => {
        const [stored, record] = await Promise.all([storage.describe(attachmentKey(room, caller.userId, id)), deps.store.getAttachment(id)]);
        if (!stored) throw new ChatError('NOT_FOUND', `attachment ${id}: no upload of yours to room ${room} has this id (never uploaded, or expired)`);
        if (record && record.attachedBy !== sendKey) throw alreadyAttached(id);
        return attachmentFrom(id, stored, policy);
      }),
    );
  } catch (error) {
    return refused(deps, error);
  }
}

function alreadyAttached(id: string): ChatError {
  return new ChatError('BAD_REQUEST', `attachment ${id} is already attached to a message`);
}

/**
 * Records each attachment as this send's, all or none: when another send took one first, the ones taken here are
 * given back and the send is refused. Then tags the objects attached, so the lifecycle rule for abandoned uploads
 * leaves them alone.
 */
export async function claimAttachments(deps: Deps, caller: Caller, room: string, attachments: readonly AttachmentView[], sendKey: string): Promise<void> {
  if (attachments.length === 0) return;
  const claimed: string[] = [];
  for (const attachment of attachments) {
    const record: AttachmentRecord = {
      ...attachment,
      attachmentId: attachment.id,
      room,
      uploader: caller.userId,
      attachedBy: sendKey,
      attachedAt: caller.nowMs,
    };
    if (!(await deps.store.claimAttachment(record))) {
      await Promise.all(claimed.map((id) => deps.store.releaseAttachment(id, sendKey)));
      refused(deps, alreadyAttached(attachment.id));
    }
    claimed.push(attachment.id);
  }
  const { storage } = attachmentsOf(deps);
  await Promise.all(attachments.map((a) => storage.markAttached(attachmentKey(room, caller.userId, a.id))));
  for (const attachment of attachments) deps.telemetry.count('AttachmentBytes', attachment.size);
  deps.telemetry.count('AttachmentsAttached', attachments.length);
}

export interface DownloadGrant {
  readonly attachmentId: string;
  readonly url: string;
  readonly expiresAt: string;
}

/** A presigned GET for an attachment of a message in the room, for a member of it. */
export async function requestDownload(deps: Deps, caller: Caller, req: DownloadRequest): Promise<DownloadGrant> {
  const { policy, storage } = attachmentsOf(deps);
  await requireMembership(deps, caller, req.room);
  const record = await deps.store.getAttachment(req.attachmentId);
  if (!record || record.room !== req.room) {
    throw new ChatError('NOT_FOUND', `no message in room ${req.room} carries attachment ${req.attachmentId}`);
  }
  const url = await storage.presignDownload(attachmentKey(record.room, record.uploader, record.attachmentId), contentDisposition(record, policy), DOWNLOAD_URL_SECONDS);
  deps.telemetry.count('AttachmentDownloads');
  return { attachmentId: record.attachmentId, url, expiresAt: new Date(caller.nowMs + DOWNLOAD_URL_SECONDS * 1000).toISOString() };
}
