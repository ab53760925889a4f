import { describe, expect, it } from 'vitest';
import {
  attachmentFrom,
  attachmentKey,
  checkUpload,
  contentDisposition,
  decodeFileName,
  encodeFileName,
  fileNameProblem,
  type AttachmentPolicy,
} from '../../functions/domain/attachments.ts';
import { attachmentSettingsFromEnv } from '../../functions/catalog/env.ts';
import { ChatError } from '../../functions/domain/errors.ts';
import { downloadRequest, MAX_ATTACHMENTS, parseRequest, sendRequest, uploadRequest } from '../../functions/domain/protocol.ts';

const policy: AttachmentPolicy = { maxBytes: 100, contentTypes: ['image/png', 'text/plain'], inlineTypes: ['image/png'] };
const UPLOAD_ID = '0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0';

function refusal(fn: () => unknown): ChatError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ChatError);
    return error as ChatError;
  }
  throw new Error('expected a refusal');
}

describe('file names', () => {
  it.each([
    ['report.pdf', undefined],
    ['Übersicht 2026 (final).txt', undefined],
    ['.profile', undefined],
    ['', 'must not be empty'],
    ['../etc/passwd', 'must not contain path separators'],
    ['a/b', 'must not contain path separators'],
    ['a\\b', 'must not contain path separators'],
    ['a\u0000b', 'must not contain control characters'],
    ['a\u007fb', 'must not contain control characters'],
    ['line\nbreak', 'must not contain control characters'],
    ['..', 'must name a file'],
    ['.', 'must name a file'],
    ['x'.repeat(255), undefined],
    ['x'.repeat(256), 'must be at most 255 UTF-8 bytes'],
    // 128 two-byte characters are 256 bytes: the bound is bytes, not characters.
    ['é'.repeat(128), 'must be at most 255 UTF-8 bytes'],
  ])('%j: %s', (name, problem) => {
    expect(fileNameProblem(name)).toBe(problem);
  });
});

describe('checkUpload', () => {
  it('admits the limit exactly, of an allowed type', () => {
    expect(() => checkUpload({ fileName: 'a.png', contentType: 'image/png', size: 100 }, policy)).not.toThrow();
  });

  it('refuses a byte over the limit with TOO_LARGE and a type off the allowlist with UNSUPPORTED_TYPE', () => {
    expect(refusal(() => checkUpload({ fileName: 'a.png', contentType: 'image/png', size: 101 }, policy))).toMatchObject({
      code: 'TOO_LARGE',
      message: 'size 101 is over the 100 bytes a file may have',
    });
    expect(refusal(() => checkUpload({ fileName: 'a.svg', contentType: 'image/svg+xml', size: 1 }, policy))).toMatchObject({
      code: 'UNSUPPORTED_TYPE',
      message: 'contentType image/svg+xml is not one of image/png, text/plain',
    });
  });

  it('holds for what an object turned out to be when it becomes an attachment', () => {
    expect(attachmentFrom(UPLOAD_ID, { fileName: 'a.png', contentType: 'image/png', size: 5 }, policy)).toEqual({
      id: UPLOAD_ID,
      fileName: 'a.png',
      contentType: 'image/png',
      size: 5,
    });
    expect(refusal(() => attachmentFrom(UPLOAD_ID, { fileName: 'a', contentType: 'text/html', size: 5 }, policy)).code).toBe('UNSUPPORTED_TYPE');
  });
});

describe('object keys', () => {
  it('are room/user/uploadId under the granted prefix, never the file name', () => {
    expect(attachmentKey('lobby', 'ann', UPLOAD_ID)).toBe(`rooms/lobby/ann/${UPLOAD_ID}`);
  });

  it('refuse anything but an upload id as the last part', () => {
    expect(() => attachmentKey('lobby', 'ann', '../x')).toThrow('not an upload id: ../x');
  });

  it('carry the file name percent-encoded in metadata, and back', () => {
    const name = 'Ünïcödé "quoted" 100%.txt';
    expect(encodeFileName(name)).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeFileName(encodeFileName(name))).toBe(name);
  });
});

describe('contentDisposition', () => {
  it('lets inline images show, with an ASCII fallback and the UTF-8 name', () => {
    expect(contentDisposition({ fileName: 'café.png', contentType: 'image/png' }, policy)).toBe(
      `inline; filename="caf_.png"; filename*=UTF-8''caf%C3%A9.png`,
    );
  });

  it('makes every other type a download, and cannot be broken out of by quotes', () => {
    expect(contentDisposition({ fileName: `a"; x=y.txt`, contentType: 'text/plain' }, policy)).toBe(
      `attachment; filename="a_; x=y.txt"; filename*=UTF-8''a%22%3B%20x%3Dy.txt`,
    );
  });
});

describe('protocol', () => {
  it('parses an upload request and an optional requestId', () => {
    expect(parseRequest(uploadRequest, { room: 'r', fileName: 'a.png', contentType: 'image/png', size: 3, requestId: 'u-1' })).toEqual({
      room: 'r',
      fileName: 'a.png',
      contentType: 'image/png',
      size: 3,
      requestId: 'u-1',
    });
  });

  it.each([
    [{ fileName: '../a' }, 'fileName must not contain path separators'],
    [{ size: 0 }, 'size must be >= 1'],
    [{ size: 1.5 }, 'size must be an integer'],
    [{ size: '3' }, 'size must be a number'],
    [{ contentType: '' }, 'contentType must not be empty'],
  ])('refuses an upload request with %j as BAD_REQUEST', (change, message) => {
    const frame = { room: 'r', fileName: 'a.png', contentType: 'image/png', size: 3, ...change };
    expect(refusal(() => parseRequest(uploadRequest, frame))).toMatchObject({ code: 'BAD_REQUEST', message });
  });

  it('takes up to 4 distinct upload ids on send, and text may be empty only with attachments', () => {
    const ids = Array.from({ length: MAX_ATTACHMENTS }, (_, i) => UPLOAD_ID.replace(/0$/, String(i)));
    expect(parseRequest(sendRequest, { room: 'r', text: '', clientMsgId: 'c', attachments: ids }).attachments).toEqual(ids);
    expect(refusal(() => parseRequest(sendRequest, { room: 'r', text: '', clientMsgId: 'c' }))).toMatchObject({ message: 'text must not be empty' });
    expect(refusal(() => parseRequest(sendRequest, { room: 'r', text: '', clientMsgId: 'c', attachments: [] }))).toMatchObject({
      message: 'text must not be empty',
    });
    expect(refusal(() => parseRequest(sendRequest, { room: 'r', text: 'x', clientMsgId: 'c', attachments: [...ids, UPLOAD_ID] }))).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'attachments must list at most 4 attachments',
    });
    expect(refusal(() => parseRequest(sendRequest, { room: 'r', text: 'x', clientMsgId: 'c', attachments: [UPLOAD_ID, UPLOAD_ID] }))).toMatchObject({
      message: 'attachments must not list an attachment twice',
    });
    expect(refusal(() => parseRequest(sendRequest, { room: 'r', text: 'x', clientMsgId: 'c', attachments: 'x' }))).toMatchObject({
      message: 'attachments must be an array',
    });
  });

  it('parses a download request of an upload id only', () => {
    expect(parseRequest(downloadRequest, { room: 'r', attachmentId: UPLOAD_ID })).toEqual({ room: 'r', attachmentId: UPLOAD_ID });
    expect(refusal(() => parseRequest(downloadRequest, { room: 'r', attachmentId: 'rooms/r/ann/x' })).message).toBe(
      'attachmentId must be an uploadId from an upload reply',
    );
  });
});

describe('attachmentSettingsFromEnv', () => {
  const env = {
    ATTACHMENTS_BUCKET: 'wschat-dev-attachments-x',
    ATTACHMENT_MAX_BYTES: '10485760',
    ATTACHMENT_CONTENT_TYPES: 'image/png,text/plain',
    ATTACHMENT_INLINE_TYPES: 'image/png',
  };

  it('reads the bucket and its policy; a function without the bucket has none', () => {
    expect(attachmentSettingsFromEnv(env)).toEqual({
      bucket: 'wschat-dev-attachments-x',
      policy: { maxBytes: 10485760, contentTypes: ['image/png', 'text/plain'], inlineTypes: ['image/png'] },
    });
    expect(attachmentSettingsFromEnv({})).toBeUndefined();
  });

  it.each([
    [{ ATTACHMENT_MAX_BYTES: '' }, 'Environment variable ATTACHMENT_MAX_BYTES is required with ATTACHMENTS_BUCKET'],
    [{ ATTACHMENT_MAX_BYTES: '10MB' }, 'Environment variable ATTACHMENT_MAX_BYTES must be an integer from 1 to 5368709120, got "10MB"'],
    [{ ATTACHMENT_CONTENT_TYPES: ' , ' }, 'Environment variable ATTACHMENT_CONTENT_TYPES must list at least one content type'],
    [{ ATTACHMENT_INLINE_TYPES: 'image/svg+xml' }, 'Environment variable ATTACHMENT_INLINE_TYPES names types that may not be uploaded: image/svg+xml'],
  ])('fails the cold start on %j', (change, message) => {
    expect(() => attachmentSettingsFromEnv({ ...env, ...change })).toThrow(message);
  });
});
