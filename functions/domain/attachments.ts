/**
 * Attachments (docs/protocol.md#attachments): which uploads the service presigns, where their objects live, and
 * how a download is served. Pure: the S3 calls sit behind the AttachmentStorage port.
 */
import { ChatError } from './errors.ts';
import { ATTACHMENT_ID_PATTERN, MAX_FILE_NAME_BYTES } from './protocol-rules.ts';

/** A presigned POST is good for 5 minutes: long enough to start an upload, too short to hand around. */
export const UPLOAD_URL_SECONDS = 5 * 60;
/** A presigned GET is good for 5 minutes; a client asks again when it needs the file later. */
export const DOWNLOAD_URL_SECONDS = 5 * 60;
/** Every object lives under this prefix, the one the functions' IAM policies name. */
export const ATTACHMENT_KEY_PREFIX = 'rooms/';
/** Object tag that lifecycle rules read: uploads are `pending` until a message carries them. */
export const ATTACHMENT_STATE_TAG = 'attachment-state';
export type AttachmentState = 'pending' | 'attached';
/** Object metadata (x-amz-meta-*) recording what the uploader declared; the policy pins them. */
export const FILE_NAME_METADATA = 'file-name';

/** What a stage allows (env ATTACHMENT_*): the size limit and the content-type allowlists. */
export interface AttachmentPolicy {
  readonly maxBytes: number;
  /** Types that may be uploaded at all. */
  readonly contentTypes: readonly string[];
  /** Of those, the types a browser may show inline (images); everything else downloads as a file. */
  readonly inlineTypes: readonly string[];
}

export const ATTACHMENT_MAX_BYTES_BOUNDS = { min: 1, max: 5 * 1024 * 1024 * 1024 } as const;

export interface UploadDeclaration {
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
}

/** What a message carries for each attachment (and the attachments table records). */
export interface AttachmentView {
  readonly id: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
}

const CONTROL_CHARACTERS = /\p{Cc}/u;

/**
 * A file name is shown to other users and offered to their browsers as a download name: no path separators (so
 * `../x` can never name a place), no control characters (no header or terminal injection), not `.` or `..`.
 */
export function fileNameProblem(fileName: string): string | undefined {
  if (fileName.length === 0) return 'must not be empty';
  if (new TextEncoder().encode(fileName).length > MAX_FILE_NAME_BYTES) return `must be at most ${MAX_FILE_NAME_BYTES} UTF-8 bytes`;
  if (/[/\\]/.test(fileName)) return 'must not contain path separators';
  if (CONTROL_CHARACTERS.test(fileName)) return 'must not contain control characters';
  if (fileName === '.' || fileName === '..') return 'must name a file';
  return undefined;
}

/** Refuses an upload the stage does not allow: TOO_LARGE, UNSUPPORTED_TYPE (the name's shape is the schema's). */
export function checkUpload(declaration: UploadDeclaration, policy: AttachmentPolicy): void {
  if (declaration.size > policy.maxBytes) {
    throw new ChatError('TOO_LARGE', `size ${declaration.size} is over the ${policy.maxBytes} bytes a file may have`);
  }
  if (!policy.contentTypes.includes(declaration.contentType)) {
    throw new ChatError('UNSUPPORTED_TYPE', `contentType ${declaration.contentType} is not one of ${policy.contentTypes.join(', ')}`);
  }
}

/** The object key: room, uploader and upload id — never the client's file name. */
export function attachmentKey(room: string, userId: string, uploadId: string): string {
  if (!ATTACHMENT_ID_PATTERN.test(uploadId)) throw new Error(`not an upload id: ${uploadId}`);
  return `${ATTACHMENT_KEY_PREFIX}${room}/${userId}/${uploadId}`;
}

/** S3 metadata values are ASCII: the file name travels percent-encoded. */
export function encodeFileName(fileName: string): string {
  return encodeURIComponent(fileName);
}

export function decodeFileName(encoded: string): string {
  return decodeURIComponent(encoded);
}

/**
 * The Content-Disposition a download is served with: images on the stage's inline list may be shown in the page;
 * anything else is a download (so an uploaded HTML or SVG file never renders in the bucket's origin).
 */
export function contentDisposition(attachment: Pick<AttachmentView, 'fileName' | 'contentType'>, policy: AttachmentPolicy): string {
  const kind = policy.inlineTypes.includes(attachment.contentType) ? 'inline' : 'attachment';
  const asciiFallback = attachment.fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${kind}; filename="${asciiFallback}"; filename*=UTF-8''${encodeRfc5987(attachment.fileName)}`;
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What a stored object must show for the upload to count as the one declared (S3's HEAD answer). */
export interface StoredUpload {
  readonly size: number;
  readonly contentType: string;
  readonly fileName: string;
}

/**
 * An uploaded object becomes an attachment only when it is what the policy allowed: its type still on the
 * stage's allowlist and its size within the limit (S3 enforced both at upload; this holds if a setting shrank).
 */
export function attachmentFrom(uploadId: string, stored: StoredUpload, policy: AttachmentPolicy): AttachmentView {
  checkUpload(stored, policy);
  return { id: uploadId, fileName: stored.fileName, contentType: stored.contentType, size: stored.size };
}
