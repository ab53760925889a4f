/**
 * ClientSocketOpener on the WebSocket client built into Node 22 (the Lambda runtime's): the canary connects as a
 * browser would, through the stage's public wss:// URL, so DNS, TLS, the gateway and the authorizer are on its path.
 */
import type { ClientSocket, ClientSocketEvents, ClientSocketOpener } from '../app/ports.ts';

export const webSocketOpener: ClientSocketOpener = {
  open(url: string, events: ClientSocketEvents, timeoutMs: number): Promise<ClientSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      let opened = false;
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`the handshake took over ${timeoutMs} ms`));
      }, timeoutMs);
      const closed = new Promise<void>((done) => ws.addEventListener('close', () => done()));
      ws.addEventListener('message', (event) => events.frame(typeof event.data === 'string' ? event.data : String(event.data)));
      ws.addEventListener('close', (event) => {
        clearTimeout(timer);
        // The client does not expose a refused handshake's status: API Gateway's 401/403/500 all end here.
        if (!opened) reject(new Error(`the handshake was refused (close code ${event.code})`));
        else events.closed(event.code);
      });
      ws.addEventListener('open', () => {
        opened = true;
        clearTimeout(timer);
        resolve({
          send: (frame) => ws.send(JSON.stringify(frame)),
          close: () => {
            ws.close(1000);
            return closed;
          },
        });
      });
    });
  },
};
