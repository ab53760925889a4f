/**
 * The wire protocol (docs/protocol.md): what a client may send and the frames it gets back.
 * Pure: no I/O, so every rule here is unit-tested directly.
 */
import * as z from 'zod';
import type { AttachmentView } from './attachments.ts';
import { fileNameProblem } from './attachments.ts';
import { ChatError, type ErrorCode } from './errors.ts';
import {
  ATTACHMENT_ID_PATTERN,
  codePointLength,
  MAX_ATTACHMENTS,
  HISTORY_MAX_LIMIT,
  MAX_CLIENT_MSG_ID_LENGTH,
  MAX_TEXT_CODE_POINTS,
  ROOM_PATTERN,
  USER_ID_PATTERN,
} from './protocol-rules.ts';

export {
  ATTACHMENT_ID_PATTERN,
  MAX_ATTACHMENTS,
  MAX_FILE_NAME_BYTES,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  MAX_CLIENT_MSG_ID_LENGTH,
  MAX_TEXT_CODE_POINTS,
  ROOM_PATTERN,
  USER_ID_PATTERN,
} from './protocol-rules.ts';

/**
 * A request schema is built on first use, once: building all of them at import cost every function 14-17 ms of
 * Init for the one schema it validates with (docs/performance.md). Pure for the bundler too, so a function that
 * never asks for a schema does not carry it (nor zod, when it asks for none).
 */
function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/** A request schema's getter (what `parseRequest` and `messageRoute` take). */
export type RequestSchema<T> = () => z.ZodType<T>;

/** Type errors say whether the field was missing or of the wrong type. */
const typed = (kind: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`),
});

/** Marks a schema issue with the error code it stands for; unmarked issues are BAD_REQUEST. */
const reportedAs = (code: ErrorCode) => ({ params: { code } });

const room = /* @__PURE__ */ lazy(() => z.string(typed('a string')).regex(ROOM_PATTERN, { error: `must match ${ROOM_PATTERN.source}` }));
const seq = /* @__PURE__ */ lazy(() =>
  z
    .number(typed('a number'))
    // zod reports integers beyond 2^53 as an integer problem too; say which one it is.
    .int({ error: (issue) => (issue.code === 'too_big' ? `must be <= ${Number.MAX_SAFE_INTEGER}` : 'must be an integer') })
    .min(0, { error: 'must be >= 0' }),
);

const userId = /* @__PURE__ */ lazy(() => z.string(typed('a string')).regex(USER_ID_PATTERN, { error: `must match ${USER_ID_PATTERN.source}` }));

/** `visibility`: only when the room is new does it decide; "private" makes the caller its owner. */
export const joinRequest = /* @__PURE__ */ lazy(() =>
  z.object({
    room: room(),
    afterSeq: seq().optional(),
    visibility: z.enum(['public', 'private'], { error: 'must be "public" or "private"' }).optional(),
  }),
);
/** `role`: what the user becomes (default member); only the owner grants admin. */
export const inviteRequest = /* @__PURE__ */ lazy(() =>
  z.object({
    room: room(),
    user: userId(),
    role: z.enum(['member', 'admin'], { error: 'must be "member" or "admin"' }).optional(),
  }),
);
export const removeRequest = /* @__PURE__ */ lazy(() => z.object({ room: room(), user: userId() }));
export const leaveRequest = /* @__PURE__ */ lazy(() => z.object({ room: room() }));
/** `after`: the last user id of the previous page (the reply's members are those sorted after it). */
export const whoRequest = /* @__PURE__ */ lazy(() =>
  z.object({
    room: room(),
    after: userId().optional(),
  }),
);
export const typingRequest = /* @__PURE__ */ lazy(() => z.object({ room: room() }));
const attachmentId = /* @__PURE__ */ lazy(() =>
  z.string(typed('a string')).regex(ATTACHMENT_ID_PATTERN, { error: 'must be an uploadId from an upload reply' }),
);

/** `text` may be empty only when the message carries attachments (a file on its own is a message). */
export const sendRequest = /* @__PURE__ */ lazy(() =>
  z
    .object({
      room: room(),
      text: z.string(typed('a string')).refine((text) => codePointLength(text) <= MAX_TEXT_CODE_POINTS, {
        error: `must be at most ${MAX_TEXT_CODE_POINTS} Unicode code points`,
        ...reportedAs('TOO_LARGE'),
      }),
      clientMsgId: z
        .string(typed('a string'))
        .min(1, { error: 'must not be empty' })
        .max(MAX_CLIENT_MSG_ID_LENGTH, { error: `must be at most ${MAX_CLIENT_MSG_ID_LENGTH} characters` }),
      attachments: z
        .array(attachmentId(), typed('an array'))
        .max(MAX_ATTACHMENTS, { error: `must list at most ${MAX_ATTACHMENTS} attachments` })
        .refine((ids) => new Set(ids).size === ids.length, { error: 'must not list an attachment twice' })
        .optional(),
    })
    .refine((req) => req.text.length > 0 || (req.attachments?.length ?? 0) > 0, { error: 'must not be empty', path: ['text'] }),
);
/** `size` is the exact byte count the upload will have: the presigned policy admits that size and no other. */
export const uploadRequest = /* @__PURE__ */ lazy(() =>
  z.object({
    room: room(),
    fileName: z.string(typed('a string')).superRefine((fileName, ctx) => {
      const problem = fileNameProblem(fileName);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    contentType: z
      .string(typed('a string'))
      .min(1, { error: 'must not be empty' })
      .max(255, { error: 'must be at most 255 characters' }),
    size: z
      .number(typed('a number'))
      .int({ error: 'must be an integer' })
      .min(1, { error: 'must be >= 1' }),
    /** The client's own tag for this request, echoed on the upload reply (a client may have several in flight). */
    requestId: z
      .string(typed('a string'))
      .min(1, { error: 'must not be empty' })
      .max(MAX_CLIENT_MSG_ID_LENGTH, { error: `must be at most ${MAX_CLIENT_MSG_ID_LENGTH} characters` })
      .optional(),
  }),
);
export const downloadRequest = /* @__PURE__ */ lazy(() => z.object({ room: room(), attachmentId: attachmentId() }));
export const historyRequest = /* @__PURE__ */ lazy(() =>
  z.object({
    room: room(),
    afterSeq: seq().optional(),
    beforeSeq: seq().optional(),
    limit: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be an integer' })
      .min(1, { error: 'must be >= 1' })
      .max(HISTORY_MAX_LIMIT, { error: `must be <= ${HISTORY_MAX_LIMIT}` })
      .optional(),
  }),
);

/** `ping` takes no fields. */
export const pingRequest = /* @__PURE__ */ lazy(() => z.object({}));
/** What reaches `$default`: a JSON object whose `action`, if any, names no route. */
export const unroutedRequest = /* @__PURE__ */ lazy(() => z.object({ action: z.unknown().optional() }));

export type JoinRequest = z.infer<ReturnType<typeof joinRequest>>;
export type InviteRequest = z.infer<ReturnType<typeof inviteRequest>>;
export type RemoveRequest = z.infer<ReturnType<typeof removeRequest>>;
export type LeaveRequest = z.infer<ReturnType<typeof leaveRequest>>;
export type WhoRequest = z.infer<ReturnType<typeof whoRequest>>;
export type TypingRequest = z.infer<ReturnType<typeof typingRequest>>;
export type SendRequest = z.infer<ReturnType<typeof sendRequest>>;
export type HistoryRequest = z.infer<ReturnType<typeof historyRequest>>;
export type UploadRequest = z.infer<ReturnType<typeof uploadRequest>>;
export type DownloadRequest = z.infer<ReturnType<typeof downloadRequest>>;

/** Parses a frame body as a JSON object; anything else is a BAD_REQUEST. */
export function parseFrameBody(body: string | undefined | null): Record<string, unknown> {
  if (body === undefined || body === null || body === '') throw new ChatError('BAD_REQUEST', 'frame is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ChatError('BAD_REQUEST', 'frame is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ChatError('BAD_REQUEST', 'frame must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** Validates a frame against a request schema (built now if it was not yet); the error names the first offending field. */
export function parseRequest<T>(schema: RequestSchema<T>, frame: Record<string, unknown>): T {
  const result = schema().safeParse(frame);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'frame';
  const marked = issue?.code === 'custom' ? (issue.params as { code?: ErrorCode } | undefined)?.code : undefined;
  throw new ChatError(marked ?? 'BAD_REQUEST', `${field} ${issue?.message ?? 'is invalid'}`);
}

export interface MessageView {
  readonly room: string;
  readonly seq: number;
  readonly id: string;
  readonly user: string;
  readonly text: string;
  readonly ts: number;
  /** Present only on messages that carry files. */
  readonly attachments?: readonly AttachmentView[];
}

export type PresenceEvent = 'join' | 'leave';

export type ServerFrame =
  | { type: 'pong'; ts: number }
  | { type: 'joined'; room: string; lastSeq: number; members: string[]; memberCount: number }
  | { type: 'left'; room: string }
  | { type: 'invited'; room: string; user: string; role: 'member' | 'admin' }
  /** To the remover with `user`; to each connection of the removed user without it. */
  | { type: 'removed'; room: string; user?: string }
  | { type: 'ack'; room: string; clientMsgId: string; seq: number; id: string; ts: number }
  | ({ type: 'message' } & MessageView)
  /** `throughSeq` on ascending pages: seqs up to it that the page lacks were expired or erased (docs/protocol.md#retention). */
  | { type: 'history'; room: string; messages: MessageView[]; hasMore: boolean; throughSeq?: number }
  | { type: 'who'; room: string; members: string[]; memberCount: number; hasMore: boolean; after?: string }
  | { type: 'presence'; room: string; user: string; event: PresenceEvent }
  | { type: 'typing'; room: string; user: string }
  | {
      type: 'upload';
      room: string;
      uploadId: string;
      url: string;
      fields: Record<string, string>;
      expiresAt: string;
      maxBytes: number;
      requestId?: string;
    }
  | { type: 'download'; attachmentId: string; url: string; expiresAt: string }
  | {
      type: 'error';
      code: ErrorCode;
      message: string;
      requestId: string;
      retryable: boolean;
      clientMsgId?: string;
      retryAfterMs?: number;
    };

export function messageFrame(m: MessageView): ServerFrame {
  return { type: 'message', ...messageView(m) };
}

/** The wire view of a message: stored fields such as the clientMsgId stay behind. */
export function messageView(m: MessageView): MessageView {
  const view = { room: m.room, seq: m.seq, id: m.id, user: m.user, text: m.text, ts: m.ts };
  return m.attachments?.length
    ? { ...view, attachments: m.attachments.map((a) => ({ id: a.id, fileName: a.fileName, contentType: a.contentType, size: a.size })) }
    : view;
}

export function presenceFrame(room: string, user: string, event: PresenceEvent): ServerFrame {
  return { type: 'presence', room, user, event };
}

/** Sorted unique user ids: a user with several connections is one member. */
export function uniqueUsers(userIds: Iterable<string>): string[] {
  return [...new Set(userIds)].sort();
}
