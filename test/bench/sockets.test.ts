import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { closeAll } from '../../bench/sockets.ts';

describe('closeAll', () => {
  it('ends open sockets and does not wait for one the server already closed', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const accepted: WebSocket[] = [];
      server.on('connection', (ws) => accepted.push(ws));
      // One after the other, so the server's first accepted socket is closedByServer's.
      const closedByServer = new WebSocket(url);
      await once(closedByServer, 'open');
      const open = new WebSocket(url);
      await once(open, 'open');
      // The server closes the first, as the gateway's idle timeout does during a slow round.
      const closed = once(closedByServer, 'close');
      accepted[0]?.close(1001);
      await closed;
      expect(closedByServer.readyState).toBe(WebSocket.CLOSED);
      expect(open.readyState).toBe(WebSocket.OPEN);
      await closeAll([closedByServer, open]);
      expect(open.readyState).toBe(WebSocket.CLOSED);
    } finally {
      server.close();
    }
  });
});
