/**
 * Hundreds of random and hostile frames (fast-check): wrong types, huge numbers, deep nesting, prototype keys,
 * control characters, binary garbage, 31 KB frames. Every one is answered with an error frame, the connection
 * stays usable, and nothing is written. A 33 KB frame is closed with 1009, as API Gateway does. (Whether prototype
 * keys reach Object.prototype is checked where the handler code runs: test/handlers/handlers.test.ts.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTIONS } from '../../functions/catalog/functions.ts';
import { ROOM_PATTERN, USER_ID_PATTERN } from '../../functions/domain/protocol.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { itemCounts } from '../support/tables.ts';
import { ChatClient } from '../support/ws-client.ts';

const { stack } = useStack(() => bootDevStack());

let client: ChatClient;

beforeAll(async () => {
  client = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('fuzzer')));
});

afterAll(async () => {
  await client?.close();
});

const hostileValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1.5, '', ' ', '\u0000', '\u202e', '💥'),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.array(fc.integer(), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
);

/** A room id that breaks the pattern: control characters, separators, length, leading punctuation. */
const badRoom = fc.oneof(
  fc.constantFrom('', '-lead', '.lead', '_lead', 'a'.repeat(65), 'has space', 'hash#tag', 'slash/room', 'nul\u0000room', 'tab\troom', 'ünïcode', '../etc'),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => `\u0007${s}`),
);

const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { nested: deep(depth - 1) });

const hostileFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  // Fields of the wrong type on every action that takes fields.
  fc.record({
    action: fc.constantFrom('join', 'leave', 'send', 'history', 'invite', 'remove'),
    room: hostileValue.filter((v) => typeof v !== 'string' || !ROOM_PATTERN.test(v)),
    text: hostileValue,
    clientMsgId: hostileValue,
  }).map((f) => JSON.stringify(f)),
  // Valid shapes with a room that breaks the pattern.
  fc.record({ action: fc.constantFrom('join', 'leave', 'send', 'history', 'invite', 'remove'), room: badRoom, text: fc.string({ minLength: 1 }), clientMsgId: fc.string({ minLength: 1, maxLength: 20 }) }).map((f) => JSON.stringify(f)),
  // Private rooms: a user that cannot be one, a role or a visibility that does not exist.
  fc.record({ action: fc.constantFrom('invite', 'remove'), room: fc.constant('lobby'), user: hostileValue.filter((v) => typeof v !== 'string' || !USER_ID_PATTERN.test(v)) }).map((f) => JSON.stringify(f)),
  fc.record({ action: fc.constant('invite'), room: fc.constant('lobby'), user: fc.constant('bob'), role: hostileValue.filter((v) => v !== 'member' && v !== 'admin') }).map((f) => JSON.stringify(f)),
  fc.record({ action: fc.constant('join'), room: fc.constant('lobby'), visibility: hostileValue.filter((v) => v !== 'public' && v !== 'private') }).map((f) => JSON.stringify(f)),
  // Attachments: file names that name a path or carry control characters, sizes and ids that are not, send lists too long.
  fc.record({
    action: fc.constant('upload'),
    room: fc.constant('lobby'),
    fileName: fc.oneof(
      fc.constantFrom('../etc/passwd', '..\\boot.ini', '..', '.', '', 'a\u0000b', 'x'.repeat(256)),
      fc.string({ maxLength: 20 }).map((s) => `${s}/${s}`),
      hostileValue.filter((v) => typeof v !== 'string'),
    ),
    contentType: fc.constant('text/plain'),
    size: fc.constant(10),
  }).map((f) => JSON.stringify(f)),
  fc.record({
    action: fc.constant('upload'),
    room: fc.constant('lobby'),
    fileName: fc.constant('a.txt'),
    contentType: fc.constant('text/plain'),
    size: fc.oneof(fc.integer({ max: 0 }), fc.double({ min: 0.1, max: 1e6, noInteger: true }), hostileValue.filter((v) => typeof v !== 'number')),
  }).map((f) => JSON.stringify(f)),
  fc.record({ action: fc.constant('download'), room: fc.constant('lobby'), attachmentId: hostileValue }).map((f) => JSON.stringify(f)),
  fc.record({
    action: fc.constant('send'),
    room: fc.constant('lobby'),
    text: fc.constant('t'),
    clientMsgId: fc.constant('c'),
    attachments: fc.oneof(hostileValue.filter((v) => !Array.isArray(v)), fc.array(fc.uuid(), { minLength: 5, maxLength: 8 }), fc.array(fc.string({ maxLength: 36 }), { minLength: 1, maxLength: 4 })),
  }).map((f) => JSON.stringify(f)),
  // History bounds out of range or of the wrong type.
  fc.record({ action: fc.constant('history'), room: fc.constant('lobby'), limit: fc.oneof(fc.integer({ min: 101 }), fc.integer({ max: 0 }), hostileValue.filter((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100)) }).map((f) => JSON.stringify(f)),
  fc.record({ action: fc.constant('history'), room: fc.constant('lobby'), afterSeq: fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 1e6, noInteger: true }), fc.string()) }).map((f) => JSON.stringify(f)),
  // Unknown, missing or non-string actions.
  fc.record({ action: fc.oneof(fc.string({ maxLength: 30 }).filter((a) => !ACTIONS.includes(a)), hostileValue.filter((v) => typeof v !== 'string')) }).map((f) => JSON.stringify(f)),
  fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== 'action'), hostileValue, { maxKeys: 6 }).map((f) => JSON.stringify(f)),
  // Prototype keys riding along an invalid send.
  fc.constantFrom('__proto__', 'constructor', 'prototype').map((key) => `{"action":"send","room":"-x","text":"t","clientMsgId":"c","${key}":{"isAdmin":true,"polluted":1}}`),
  // Deep nesting, not JSON at all, JSON that is not an object, control characters.
  fc.integer({ min: 50, max: 500 }).map((depth) => JSON.stringify({ action: 'send', room: deep(depth) })),
  fc.string({ maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }),
  fc.constantFrom('[]', '[1,2,3]', '"send"', '42', 'null', 'true', '{"action":"send"', '\u0000\u0001\u0002', '{"action":"join","room":"lobby\u0000"}'),
  // Binary frames, valid UTF-8 or not: API Gateway hands them to $default base64-encoded.
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  // Frames just under the 32 KB limit.
  fc.constantFrom(JSON.stringify({ action: 'send', room: '-big', text: 'x'.repeat(31 * 1024), clientMsgId: 'big' }), 'x'.repeat(31 * 1024)),
);

it('answers every hostile frame with an error frame, keeps the connection, and writes nothing', { timeout: 300_000 }, async () => {
  const before = await itemCounts(stack);
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(hostileFrame, async (frame) => {
      const seen = client.frames.length;
      client.ws.send(frame, { binary: Buffer.isBuffer(frame) });
      sent++;
      const reply = await client.next((f) => client.frames.indexOf(f) >= seen, 15_000);
      expect(reply.type).toBe('error');
      expect(['BAD_REQUEST', 'UNKNOWN_ACTION', 'NOT_A_MEMBER', 'TOO_LARGE']).toContain(reply.code);
      expect(reply).toMatchObject({ retryable: false, requestId: expect.any(String), message: expect.any(String) });
    }),
    { numRuns: 300 },
  );
  expect(sent).toBeGreaterThanOrEqual(300);
  expect(client.closed).toBeUndefined();
  expect((await client.request({ action: 'ping' }, 'pong')).type).toBe('pong');
  expect(await itemCounts(stack)).toEqual(before);
});

it('closes a connection whose frame exceeds 32 KB with 1009, like API Gateway', async () => {
  const victim = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('oversize')));
  victim.send(JSON.stringify({ action: 'send', room: 'lobby', text: 'x'.repeat(33 * 1024), clientMsgId: 'x' }));
  expect((await victim.closedWith()).code).toBe(1009);
});
