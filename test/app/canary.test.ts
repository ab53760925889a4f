/**
 * The canary's inbox (frames kept until a step takes them, error frames and a closed connection failing the step)
 * and its token source against a real HTTP token endpoint.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../functions/adapters/client-credentials.ts';
import { CanaryStepFailed, FrameInbox } from '../../functions/app/canary.ts';

const anyError = () => true;
const noError = () => false;

describe('FrameInbox', () => {
  it('hands a step a frame that arrived before the step asked, and keeps the frames nobody took', async () => {
    const inbox = new FrameInbox();
    inbox.receive(JSON.stringify({ type: 'message', room: 'r', text: 'x' }));
    inbox.receive(JSON.stringify({ type: 'ack', clientMsgId: 'c-1' }));
    await expect(inbox.take((f) => f.type === 'ack', noError, 1000)).resolves.toMatchObject({ clientMsgId: 'c-1' });
    await expect(inbox.take((f) => f.type === 'message', noError, 1000)).resolves.toMatchObject({ text: 'x' });
  });

  it('hands each waiting step its own frame, whatever the order they arrive in', async () => {
    const inbox = new FrameInbox();
    const ack = inbox.take((f) => f.type === 'ack', noError, 5000);
    const message = inbox.take((f) => f.type === 'message', noError, 5000);
    inbox.receive(JSON.stringify({ type: 'message', text: 'm' }));
    inbox.receive(JSON.stringify({ type: 'ack', clientMsgId: 'c' }));
    await expect(Promise.all([ack, message])).resolves.toEqual([{ type: 'ack', clientMsgId: 'c' }, { type: 'message', text: 'm' }]);
  });

  it('fails a step with the error frame meant for it, and not with one meant for another', async () => {
    const inbox = new FrameInbox();
    const mine = inbox.take((f) => f.type === 'ack', (e) => e.clientMsgId === 'c-1', 5000);
    inbox.receive(JSON.stringify({ type: 'error', code: 'RATE_LIMITED', message: 'slow down', clientMsgId: 'c-2' }));
    inbox.receive(JSON.stringify({ type: 'error', code: 'INTERNAL', message: 'boom', clientMsgId: 'c-1' }));
    await expect(mine).rejects.toThrow('error INTERNAL: boom');
    // The other error frame is still there for whoever it concerns.
    await expect(inbox.take(() => false, anyError, 1000)).rejects.toThrow('error RATE_LIMITED: slow down');
  });

  it('fails waiting steps when the connection closes, and later ones at once', async () => {
    const inbox = new FrameInbox();
    const waiting = inbox.take((f) => f.type === 'joined', anyError, 5000);
    inbox.closed(1006);
    await expect(waiting).rejects.toThrow(new CanaryStepFailed('the connection closed (1006)'));
    await expect(inbox.take((f) => f.type === 'history', anyError, 5000)).rejects.toThrow('the connection closed (1006)');
  });

  it('fails a step that gets no answer in time', async () => {
    const inbox = new FrameInbox();
    await expect(inbox.take((f) => f.type === 'joined', anyError, 20)).rejects.toThrow('no answer within 20 ms');
    // Positive control: the same wait is answered when the frame comes.
    const answered = inbox.take((f) => f.type === 'joined', anyError, 5000);
    inbox.receive(JSON.stringify({ type: 'joined', room: 'r' }));
    await expect(answered).resolves.toMatchObject({ room: 'r' });
  });

  it("fails every waiting step at once with API Gateway's own error frame (no type), not at the step timeout", async () => {
    const inbox = new FrameInbox();
    // A wait long enough that only the gateway frame, not the timeout, can end it within the test.
    const ack = inbox.take((f) => f.type === 'ack', noError, 600_000);
    const delivery = inbox.take((f) => f.type === 'message', noError, 600_000);
    inbox.receive(JSON.stringify({ message: 'Internal server error', connectionId: 'c=', requestId: 'r-1' }));
    await expect(ack).rejects.toThrow(new CanaryStepFailed('API Gateway answered "Internal server error" (request r-1)'));
    await expect(delivery).rejects.toThrow('API Gateway answered "Internal server error" (request r-1)');
  });

  it('fails the next step with a gateway error frame that came while no step waited, and only that step', async () => {
    const inbox = new FrameInbox();
    inbox.receive(JSON.stringify({ message: 'Forbidden', connectionId: 'c=', requestId: 'r-2' }));
    await expect(inbox.take((f) => f.type === 'joined', anyError, 600_000)).rejects.toThrow('API Gateway answered "Forbidden" (request r-2)');
    // Positive control: the step after it is answered as usual.
    const answered = inbox.take((f) => f.type === 'joined', anyError, 600_000);
    inbox.receive(JSON.stringify({ type: 'joined', room: 'r' }));
    await expect(answered).resolves.toMatchObject({ room: 'r' });
  });

  it('fails waiting steps on a frame that is not JSON', async () => {
    const inbox = new FrameInbox();
    const waiting = inbox.take((f) => f.type === 'joined', anyError, 5000);
    inbox.receive('<html>');
    await expect(waiting).rejects.toThrow('the server sent a frame that is not JSON: <html>');
  });
});

describe('ClientCredentialsTokenSource (against a local token endpoint)', () => {
  it('sends HTTP Basic credentials and the scope, reuses the token until a minute before it expires, then asks again', async () => {
    const requests: { authorization?: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        requests.push({ authorization: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `token-${requests.length}`, expires_in: 3600 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let clock = 0;
    const source = new ClientCredentialsTokenSource({
      tokenEndpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth2/token`,
      scope: 'wschat/canary',
      credentials: async () => ({ clientId: 'canary', clientSecret: 's:cret' }),
      now: () => clock,
    });
    try {
      expect(await source.token()).toBe('token-1');
      expect(requests[0]).toEqual({
        authorization: `Basic ${Buffer.from('canary:s%3Acret').toString('base64')}`,
        body: 'grant_type=client_credentials&scope=wschat%2Fcanary',
      });
      clock = 3600_000 - 60_001;
      expect(await source.token()).toBe('token-1');
      clock = 3600_000 - 60_000;
      expect(await source.token()).toBe('token-2');
      expect(requests).toHaveLength(2);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("fails with the endpoint's status and OAuth error", async () => {
    const server = createServer((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_scope' })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const source = new ClientCredentialsTokenSource({
      tokenEndpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth2/token`,
      scope: 'wschat/canary',
      credentials: async () => ({ clientId: 'canary', clientSecret: 'secret' }),
    });
    try {
      await expect(source.token()).rejects.toThrow('the token endpoint answered 400 invalid_scope');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
