import { describe, expect, it } from 'vitest';
import { ChatError } from '../../functions/domain/errors.ts';
import { codePointLength } from '../../functions/domain/protocol-rules.ts';
import {
  historyRequest,
  joinRequest,
  leaveRequest,
  MAX_CLIENT_MSG_ID_LENGTH,
  MAX_TEXT_CODE_POINTS,
  parseFrameBody,
  parseRequest,
  presenceFrame,
  ROOM_PATTERN,
  sendRequest,
  typingRequest,
  uniqueUsers,
  USER_ID_PATTERN,
  whoRequest,
} from '../../functions/domain/protocol.ts';

/** Runs `fn`, expects a BAD_REQUEST ChatError and returns its message. */
function badRequest(fn: () => unknown): string {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ChatError);
  const error = thrown as ChatError;
  expect(error.code).toBe('BAD_REQUEST');
  expect(error.retryable).toBe(false);
  return error.message;
}

const ROOM_RULE = `must match ${ROOM_PATTERN.source}`;
const validSend = { room: 'lobby', text: 'hi', clientMsgId: 'c-1' };

describe('parseFrameBody', () => {
  it.each([undefined, null, ''])('rejects an empty frame (%j)', (body) => {
    expect(badRequest(() => parseFrameBody(body))).toBe('frame is empty');
  });

  it.each(['not json', '{', '{"room":', "{'room':'a'}", '   '])('rejects text that is not JSON: %j', (body) => {
    expect(badRequest(() => parseFrameBody(body))).toBe('frame is not valid JSON');
  });

  it.each(['[]', '[{"room":"a"}]', '42', '"room"', 'true', 'null'])('rejects JSON that is not an object: %s', (body) => {
    expect(badRequest(() => parseFrameBody(body))).toBe('frame must be a JSON object');
  });

  it('returns the parsed object', () => {
    expect(parseFrameBody('{"action":"join","room":"lobby"}')).toEqual({ action: 'join', room: 'lobby' });
    expect(parseFrameBody('{}')).toEqual({});
  });
});

describe('room names (join / leave)', () => {
  it.each([
    ['a', 'a single character'],
    ['a'.repeat(64), '64 characters'],
    ['Room_1.general-x', 'letters, digits, _ . -'],
    ['9', 'a leading digit'],
  ])('accepts %j (%s)', (room) => {
    expect(parseRequest(joinRequest, { room })).toEqual({ room });
    expect(parseRequest(leaveRequest, { room })).toEqual({ room });
  });

  it.each([
    ['a'.repeat(65), '65 characters'],
    ['', 'empty'],
    ['-room', "a leading '-'"],
    ['.room', "a leading '.'"],
    ['_room', "a leading '_'"],
    ['café', 'a non-ASCII letter'],
    ['ルーム', 'non-Latin script'],
    ['room 1', 'a space'],
    ['room#1', "a '#' (the idempotency key separator)"],
    ['room/1', "a '/'"],
    ['room\n', 'a trailing newline'],
  ])('rejects %j (%s)', (room) => {
    expect(badRequest(() => parseRequest(joinRequest, { room }))).toBe(`room ${ROOM_RULE}`);
    expect(badRequest(() => parseRequest(leaveRequest, { room }))).toBe(`room ${ROOM_RULE}`);
  });

  it('says whether the room is missing or of the wrong type', () => {
    expect(badRequest(() => parseRequest(joinRequest, {}))).toBe('room is required');
    expect(badRequest(() => parseRequest(joinRequest, { room: 7 }))).toBe('room must be a string');
    expect(badRequest(() => parseRequest(leaveRequest, { room: null }))).toBe('room must be a string');
    expect(badRequest(() => parseRequest(leaveRequest, { room: ['lobby'] }))).toBe('room must be a string');
  });

  it('strips unknown fields, including the routing action', () => {
    expect(parseRequest(joinRequest, { action: 'join', room: 'lobby', userId: 'mallory', extra: { a: 1 } })).toEqual({
      room: 'lobby',
    });
  });
});

describe('send requests', () => {
  it('accepts a valid send and strips unknown fields', () => {
    expect(parseRequest(sendRequest, { ...validSend, action: 'send', user: 'mallory', seq: 99 })).toEqual(validSend);
  });

  it('names the room first when everything is missing', () => {
    expect(badRequest(() => parseRequest(sendRequest, {}))).toBe('room is required');
  });

  it('checks the room pattern', () => {
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, room: '-x' }))).toBe(`room ${ROOM_RULE}`);
  });

  it('requires a non-empty string text', () => {
    const { text: _omit, ...noText } = validSend;
    expect(badRequest(() => parseRequest(sendRequest, noText))).toBe('text is required');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: '' }))).toBe('text must not be empty');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: 42 }))).toBe('text must be a string');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: { t: 'x' } }))).toBe('text must be a string');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: null }))).toBe('text must be a string');
  });

  it('keeps whitespace-only and unicode text as sent', () => {
    expect(parseRequest(sendRequest, { ...validSend, text: ' ' }).text).toBe(' ');
    expect(parseRequest(sendRequest, { ...validSend, text: 'héllo 👋' }).text).toBe('héllo 👋');
  });

  it('bounds clientMsgId to 1..128 characters', () => {
    expect(MAX_CLIENT_MSG_ID_LENGTH).toBe(128);
    const at128 = 'x'.repeat(128);
    expect(parseRequest(sendRequest, { ...validSend, clientMsgId: at128 }).clientMsgId).toBe(at128);
    expect(parseRequest(sendRequest, { ...validSend, clientMsgId: 'x' }).clientMsgId).toBe('x');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, clientMsgId: 'x'.repeat(129) }))).toBe(
      'clientMsgId must be at most 128 characters',
    );
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, clientMsgId: '' }))).toBe(
      'clientMsgId must not be empty',
    );
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, clientMsgId: 5 }))).toBe(
      'clientMsgId must be a string',
    );
  });

  it('names clientMsgId when it is missing', () => {
    const { clientMsgId: _omit, ...noId } = validSend;
    expect(badRequest(() => parseRequest(sendRequest, noId))).toMatch(/^clientMsgId /);
  });
});

describe('history requests', () => {
  it('accepts a bare room and the bounds of limit', () => {
    expect(parseRequest(historyRequest, { room: 'lobby' })).toEqual({ room: 'lobby' });
    expect(parseRequest(historyRequest, { room: 'lobby', limit: 1 })).toEqual({ room: 'lobby', limit: 1 });
    expect(parseRequest(historyRequest, { room: 'lobby', limit: 100 })).toEqual({ room: 'lobby', limit: 100 });
    expect(parseRequest(historyRequest, { room: 'lobby', afterSeq: 0, beforeSeq: 0 })).toEqual({
      room: 'lobby',
      afterSeq: 0,
      beforeSeq: 0,
    });
  });

  it.each([
    [0, 'limit must be >= 1'],
    [-1, 'limit must be >= 1'],
    [101, 'limit must be <= 100'],
    [2.5, 'limit must be an integer'],
    ['10', 'limit must be a number'],
    [null, 'limit must be a number'],
  ])('rejects limit %j: %s', (limit, message) => {
    expect(badRequest(() => parseRequest(historyRequest, { room: 'lobby', limit }))).toBe(message);
  });

  it.each(['afterSeq', 'beforeSeq'])('validates %s as a non-negative integer', (field) => {
    expect(badRequest(() => parseRequest(historyRequest, { room: 'lobby', [field]: -1 }))).toBe(`${field} must be >= 0`);
    expect(badRequest(() => parseRequest(historyRequest, { room: 'lobby', [field]: 1.5 }))).toBe(
      `${field} must be an integer`,
    );
    expect(badRequest(() => parseRequest(historyRequest, { room: 'lobby', [field]: '3' }))).toBe(
      `${field} must be a number`,
    );
  });

  it('rejects a number JSON overflows to Infinity', () => {
    const frame = parseFrameBody('{"room":"lobby","afterSeq":1e400}');
    expect(frame.afterSeq).toBe(Infinity);
    expect(badRequest(() => parseRequest(historyRequest, frame))).toMatch(/^afterSeq /);
  });

  it('requires the room', () => {
    expect(badRequest(() => parseRequest(historyRequest, { limit: 5 }))).toBe('room is required');
  });

  it('strips unknown fields', () => {
    expect(parseRequest(historyRequest, { room: 'lobby', limit: 5, action: 'history', since: 'yesterday' })).toEqual({
      room: 'lobby',
      limit: 5,
    });
  });
});

describe('USER_ID_PATTERN', () => {
  it('accepts typical subjects and rejects ones unsafe as keys', () => {
    for (const ok of ['alice', 'auth0:abc123', 'user@example.com', 'a'.repeat(128), '1_2.3-4']) {
      expect(USER_ID_PATTERN.test(ok), ok).toBe(true);
    }
    for (const bad of ['', 'a#b', 'a'.repeat(129), '-alice', 'al ice', 'ålice', 'a/b']) {
      expect(USER_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });
});

describe('uniqueUsers', () => {
  it('deduplicates and sorts', () => {
    expect(uniqueUsers(['bob', 'alice', 'bob', 'carol', 'alice'])).toEqual(['alice', 'bob', 'carol']);
    expect(uniqueUsers([])).toEqual([]);
  });
});

/** Runs `fn`, expects a ChatError of `code` (not retryable) and returns its message. */
function rejectedWith(code: string, fn: () => unknown): string {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ChatError);
  expect((thrown as ChatError).code).toBe(code);
  expect((thrown as ChatError).retryable).toBe(false);
  return (thrown as ChatError).message;
}

describe('text size (TOO_LARGE)', () => {
  it('allows 4,000 code points and reports 4,001 as TOO_LARGE, not BAD_REQUEST', () => {
    expect(MAX_TEXT_CODE_POINTS).toBe(4000);
    expect(parseRequest(sendRequest, { ...validSend, text: 'a'.repeat(4000) }).text).toHaveLength(4000);
    expect(rejectedWith('TOO_LARGE', () => parseRequest(sendRequest, { ...validSend, text: 'a'.repeat(4001) }))).toBe(
      'text must be at most 4000 Unicode code points',
    );
  });

  it('counts code points, not UTF-16 units: 4,000 emoji (8,000 units) fit, 4,001 do not', () => {
    const emoji = '👋';
    expect(emoji).toHaveLength(2);
    expect(parseRequest(sendRequest, { ...validSend, text: emoji.repeat(4000) }).text).toHaveLength(8000);
    rejectedWith('TOO_LARGE', () => parseRequest(sendRequest, { ...validSend, text: emoji.repeat(4001) }));
  });

  it('still reports type and emptiness problems as BAD_REQUEST', () => {
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: 12 }))).toBe('text must be a string');
    expect(badRequest(() => parseRequest(sendRequest, { ...validSend, text: '' }))).toBe('text must not be empty');
  });

  it('reports an earlier bad field before an oversized text', () => {
    expect(badRequest(() => parseRequest(sendRequest, { room: '-x', text: 'a'.repeat(5000), clientMsgId: 'c' }))).toBe(
      `room ${ROOM_RULE}`,
    );
  });

  it('codePointLength counts astral characters once', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('héllo 👋')).toBe(7);
    expect(codePointLength('👨‍👩‍👧')).toBe(5);
  });
});

describe('join with afterSeq (resume)', () => {
  it('accepts a join without afterSeq, and with 0 or any safe integer', () => {
    expect(parseRequest(joinRequest, { room: 'lobby' })).toEqual({ room: 'lobby' });
    expect(parseRequest(joinRequest, { room: 'lobby', afterSeq: 0 })).toEqual({ room: 'lobby', afterSeq: 0 });
    expect(parseRequest(joinRequest, { room: 'lobby', afterSeq: Number.MAX_SAFE_INTEGER }).afterSeq).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it.each([
    [-1, 'afterSeq must be >= 0'],
    [1.5, 'afterSeq must be an integer'],
    [2 ** 60, `afterSeq must be <= ${Number.MAX_SAFE_INTEGER}`],
    ['3', 'afterSeq must be a number'],
    [null, 'afterSeq must be a number'],
    [true, 'afterSeq must be a number'],
  ])('rejects afterSeq %j', (afterSeq, message) => {
    expect(badRequest(() => parseRequest(joinRequest, { room: 'lobby', afterSeq }))).toBe(message);
  });

  it('bounds history seqs the same way', () => {
    expect(badRequest(() => parseRequest(historyRequest, { room: 'lobby', beforeSeq: 2 ** 60 }))).toBe(
      `beforeSeq must be <= ${Number.MAX_SAFE_INTEGER}`,
    );
  });
});

describe('who and typing requests', () => {
  it.each([
    ['who', whoRequest],
    ['typing', typingRequest],
  ] as const)('%s takes a valid room and ignores unknown fields', (action, schema) => {
    expect(parseRequest(schema, { action, room: 'lobby', user: 'mallory', text: 'x' })).toEqual({ room: 'lobby' });
  });

  it.each([
    ['who', whoRequest],
    ['typing', typingRequest],
  ] as const)('%s names a missing, mistyped or malformed room', (_action, schema) => {
    expect(badRequest(() => parseRequest(schema, {}))).toBe('room is required');
    expect(badRequest(() => parseRequest(schema, { room: 1 }))).toBe('room must be a string');
    expect(badRequest(() => parseRequest(schema, { room: 'a'.repeat(65) }))).toBe(`room ${ROOM_RULE}`);
  });
});

describe('presence frames', () => {
  it('carry room, user and event', () => {
    expect(presenceFrame('lobby', 'bob', 'join')).toEqual({ type: 'presence', room: 'lobby', user: 'bob', event: 'join' });
    expect(presenceFrame('lobby', 'bob', 'leave')).toEqual({ type: 'presence', room: 'lobby', user: 'bob', event: 'leave' });
  });
});
