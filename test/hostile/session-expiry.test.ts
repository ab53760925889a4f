/**
 * Connections that outlive their tokens, on the local stack: API Gateway checks a token only at the handshake, so
 * the service ends the session once the token has been expired for SESSION_GRACE_SECONDS. Nobody waits minutes
 * here: the functions' clock (local/lambda/function-clock.ts) is moved past the tokens' end plus the grace.
 */
import { expect, it } from 'vitest';
import { SESSION_GRACE_SECONDS } from '../../functions/domain/session.ts';
import { FunctionClock } from '../../local/lambda/function-clock.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient } from '../support/ws-client.ts';

const TOKEN_SECONDS = 60;
const functionClock = new FunctionClock();
const { stack, joined } = useStack(() => bootDevStack({ functionClock }));

/** A connection in `room` whose token expires TOKEN_SECONDS from now on the functions' clock (which tests move). */
async function joinedWithShortToken(user: string, room: string): Promise<ChatClient> {
  const aheadSeconds = Math.ceil((functionClock.now() - Date.now()) / 1000);
  const client = await ChatClient.connect(stack.wsUrl(await stack.tokenFor(user, { ttlSeconds: TOKEN_SECONDS + aheadSeconds })));
  await client.request({ action: 'join', room }, 'joined');
  return client;
}

/** Moves the functions' clock past the short tokens' end plus the grace. */
const endShortSessions = () => functionClock.advance((TOKEN_SECONDS + SESSION_GRACE_SECONDS + 1) * 1000);

it('refuses the next frame of a connection past its token with SESSION_EXPIRED and closes it', async () => {
  const room = 'expiry-talk';
  const talker = await joinedWithShortToken('se-talker', room);
  // Positive control: the connection works while its token is valid.
  await talker.request({ action: 'ping' }, 'pong');

  endShortSessions();

  talker.send({ action: 'send', room, text: 'too late', clientMsgId: 'late-1' });
  expect(await talker.next((f) => f.type === 'error')).toMatchObject({ code: 'SESSION_EXPIRED', clientMsgId: 'late-1', retryable: false });
  expect(await talker.closedWith(30_000)).toEqual({ code: 1000, reason: 'Connection deleted' });
  expect(talker.ofType('ack')).toEqual([]);
});

it('closes a connection that only listens, on the next fan-out to its room, instead of posting to it; the room goes on', async () => {
  const room = 'expiry-listen';
  const listener = await joinedWithShortToken('se-listener', room);
  const sender = await joined('se-sender', room);
  // Positive control: while its token is valid, the listener gets the room's messages.
  const before = await sender.request({ action: 'send', room, text: 'while valid', clientMsgId: 'se-1' }, 'ack');
  await listener.next((f) => f.type === 'message' && f.seq === before.seq);

  endShortSessions();

  const after = await sender.request({ action: 'send', room, text: 'after the end', clientMsgId: 'se-2' }, 'ack');
  expect(await listener.closedWith(30_000)).toEqual({ code: 1000, reason: 'Connection deleted' });
  expect(listener.ofType('message').map((f) => f.seq)).toEqual([before.seq]);
  // The sender's connection has a long token: it got its message, and the listener's $disconnect left the room.
  await sender.next((f) => f.type === 'message' && f.seq === after.seq);
  await expect.poll(async () => (await sender.request({ action: 'who', room }, 'who')).members).toEqual(['se-sender']);
});
