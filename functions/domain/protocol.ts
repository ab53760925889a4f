/**
 * The wire protocol (docs/protocol.md): what a client may send and the frames it gets back.
 * Pure: no I/O, so every rule here is unit-tested directly.
 */
import { z } from 'zod';
import { ChatError, type ErrorCode } from './errors.ts';

export const ROOM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** User ids come from the token's `sub`; the bound keeps them safe as keys and in logs (no '#'). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;
export const MAX_CLIENT_MSG_ID_LENGTH = 128;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;

/** Type errors say whether the field was missing or of the wrong type. */
const typed = (kind: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`),
});

const room = z.string(typed('a string')).regex(ROOM_PATTERN, { error: `must match ${ROOM_PATTERN.source}` });
const seq = z.number(typed('a number')).int({ error: 'must be an integer' }).min(0, { error: 'must be >= 0' });

export const joinRequest = z.object({ room });
export const leaveRequest = z.object({ room });
export const sendRequest = z.object({
  room,
  text: z.string(typed('a string')).min(1, { error: 'must not be empty' }),
  clientMsgId: z
    .string(typed('a string'))
    .min(1, { error: 'must not be empty' })
    .max(MAX_CLIENT_MSG_ID_LENGTH, { error: `must be at most ${MAX_CLIENT_MSG_ID_LENGTH} characters` }),
});
export const historyRequest = z.object({
  room,
  afterSeq: seq.optional(),
  beforeSeq: seq.optional(),
  limit: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be >= 1' })
    .max(HISTORY_MAX_LIMIT, { error: `must be <= ${HISTORY_MAX_LIMIT}` })
    .optional(),
});

export type JoinRequest = z.infer<typeof joinRequest>;
export type LeaveRequest = z.infer<typeof leaveRequest>;
export type SendRequest = z.infer<typeof sendRequest>;
export type HistoryRequest = z.infer<typeof historyRequest>;

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

/** Validates a frame against a request schema; the error names the first offending field. */
export function parseRequest<T>(schema: z.ZodType<T>, frame: Record<string, unknown>): T {
  const result = schema.safeParse(frame);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'frame';
  throw new ChatError('BAD_REQUEST', `${field} ${issue?.message ?? 'is invalid'}`);
}

export interface MessageView {
  readonly room: string;
  readonly seq: number;
  readonly id: string;
  readonly user: string;
  readonly text: string;
  readonly ts: number;
}

export type ServerFrame =
  | { type: 'pong'; ts: number }
  | { type: 'joined'; room: string; lastSeq: number; members: string[] }
  | { type: 'left'; room: string }
  | { type: 'ack'; room: string; clientMsgId: string; seq: number; id: string; ts: number }
  | ({ type: 'message' } & MessageView)
  | { type: 'history'; room: string; messages: MessageView[]; hasMore: boolean }
  | {
      type: 'error';
      code: ErrorCode;
      message: string;
      requestId: string;
      retryable: boolean;
      clientMsgId?: string;
    };

export function messageFrame(m: MessageView): ServerFrame {
  return { type: 'message', room: m.room, seq: m.seq, id: m.id, user: m.user, text: m.text, ts: m.ts };
}

export function messageView(m: MessageView): MessageView {
  return { room: m.room, seq: m.seq, id: m.id, user: m.user, text: m.text, ts: m.ts };
}

/** Sorted unique user ids: a user with several connections is one member. */
export function uniqueUsers(userIds: Iterable<string>): string[] {
  return [...new Set(userIds)].sort();
}
