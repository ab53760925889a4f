/**
 * The local stack's own endpoints answer only this machine: a web page the developer visits cannot inject a fault
 * (a cross-origin POST, a non-JSON body), and DNS rebinding (a foreign name resolving to 127.0.0.1) cannot read a
 * token or the dashboard's logs. Each refusal has a positive control: the same request from this origin succeeds.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bootDevStack, useStack } from '../support/local-stack.ts';

const { stack } = useStack(() => bootDevStack());

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** A raw HTTP request to the stack's port, with a Host header of the test's choosing (fetch would set its own). */
function send(method: string, target: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: stack.port, method, path: target, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ownHost = () => `127.0.0.1:${stack.port}`;
const crash = JSON.stringify({ kind: 'function-crash', functionName: 'wschat-dev-ping' });

afterEach(() => stack.faults.clear());

describe('/_local/faults', () => {
  it('refuses a cross-origin POST with 403 and injects nothing', async () => {
    const reply = await send('POST', '/_local/faults', { host: ownHost(), origin: 'http://evil.example', 'content-type': 'application/json' }, crash);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body).message).toMatch(/same origin|this origin/);
    expect(stack.faults.list()).toEqual([]);
  });

  it('refuses a body that is not application/json with 415, the form a page can post without a preflight', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const reply = await send('POST', '/_local/faults', { host: ownHost(), 'content-type': type }, crash);
      expect(reply.status, type).toBe(415);
    }
    expect((await send('POST', '/_local/faults', { host: ownHost() }, crash)).status).toBe(415);
    expect(stack.faults.list()).toEqual([]);
  });

  it('refuses a cross-origin DELETE that would clear the faults', async () => {
    stack.faults.inject({ kind: 'lost-disconnects' });
    const reply = await send('DELETE', '/_local/faults', { host: ownHost(), origin: 'http://evil.example', 'content-type': 'application/json' });
    expect(reply.status).toBe(403);
    expect(stack.faults.list()).toEqual([{ kind: 'lost-disconnects' }]);
  });

  it('refuses a POST whose Host is not this loopback port (DNS rebinding)', async () => {
    for (const host of [`evil.example:${stack.port}`, '127.0.0.1:1', `127.0.0.1.nip.io:${stack.port}`, '127.0.0.1']) {
      const reply = await send('POST', '/_local/faults', { host, 'content-type': 'application/json' }, crash);
      expect(reply.status, host).toBe(403);
    }
    expect(stack.faults.list()).toEqual([]);
  });

  it('injects a fault from this origin, or from no origin at all (curl, the CLIs)', async () => {
    const sameOrigin = await send(
      'POST',
      '/_local/faults',
      { host: ownHost(), origin: `http://${ownHost()}`, 'content-type': 'application/json; charset=utf-8' },
      crash,
    );
    expect(sameOrigin.status).toBe(200);
    expect(stack.faults.get('function-crash')).toEqual({ kind: 'function-crash', functionName: 'wschat-dev-ping' });
    const noOrigin = await send('POST', '/_local/faults', { host: `localhost:${stack.port}`, 'content-type': 'application/json' }, '{"kind":"lost-disconnects"}');
    expect(noOrigin.status).toBe(200);
    expect(stack.faults.get('lost-disconnects')).toEqual({ kind: 'lost-disconnects' });
  });
});

describe('reads a rebinding page must not make', () => {
  it('refuses a token to a foreign Host and mints one for this loopback port', async () => {
    const foreign = await send('GET', '/_local/token?user=alice', { host: `evil.example:${stack.port}` });
    expect(foreign.status).toBe(403);
    expect(foreign.body).not.toContain('token');
    const own = await send('GET', '/_local/token?user=alice', { host: ownHost() });
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body).token).toMatch(/^ey/);
  });

  it("refuses the dashboard's logs and page to a foreign Host and serves them to this loopback port", async () => {
    for (const target of ['/_dashboard/api/logs?q=', '/_dashboard']) {
      const foreign = await send('GET', target, { host: `evil.example:${stack.port}` });
      expect(foreign.status, target).toBe(403);
      const own = await send('GET', target, { host: `[::1]:${stack.port}` });
      expect(own.status, target).toBe(200);
    }
  });
});
