/**
 * A `ws` socket the tests can misuse: it records what the client sends, can drop chosen incoming frames (a lost
 * message or ack) or replace them (a reply the local stack cannot be made to give on cue), go silent, or be
 * terminated (a network drop without a close handshake).
 */
import WebSocket from 'ws';
import type { SocketCloseEvent, SocketMessageEvent, WebSocketFactory, WebSocketLike } from '../../client/socket.ts';

export type Frame = Record<string, unknown>;

export class ControlledSockets {
  readonly sockets: ControlledSocket[] = [];
  /** Incoming frames for which this returns true never reach the client (checked on every socket). */
  dropIncoming: (frame: Frame) => boolean = () => false;
  /** What the client gets instead of an incoming frame (checked after dropIncoming, on every socket). */
  replaceIncoming: (frame: Frame) => Frame = (frame) => frame;
  readonly urls: string[] = [];

  readonly factory: WebSocketFactory = (url) => {
    this.urls.push(url);
    const socket = new ControlledSocket(new WebSocket(url), this);
    this.sockets.push(socket);
    return socket;
  };

  get current(): ControlledSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket was created');
    return socket;
  }

  /** Every frame the client sent, over all its sockets. */
  sent(): Frame[] {
    return this.sockets.flatMap((s) => s.sent);
  }
}

export class ControlledSocket implements WebSocketLike {
  readonly sent: Frame[] = [];
  /** When set, no incoming frame reaches the client: a connection that went silent. */
  silent = false;

  constructor(
    readonly ws: WebSocket,
    private readonly owner: ControlledSockets,
  ) {}

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Frame);
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  /** Drops the TCP connection without a close handshake, as a network failure would. */
  terminate(): void {
    this.ws.terminate();
  }

  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: SocketMessageEvent) => void): void;
  addEventListener(type: 'close', listener: (event: SocketCloseEvent) => void): void;
  addEventListener(type: 'error', listener: () => void): void;
  addEventListener(type: string, listener: (event: never) => void): void {
    if (type === 'message') {
      this.ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as Frame;
        if (this.silent || this.owner.dropIncoming(frame)) return;
        (listener as (event: SocketMessageEvent) => void)({ data: JSON.stringify(this.owner.replaceIncoming(frame)) });
      });
    } else if (type === 'close') {
      this.ws.on('close', (code: number, reason: Buffer) =>
        (listener as (event: SocketCloseEvent) => void)({ code, reason: reason.toString() }),
      );
    } else {
      this.ws.on(type, () => (listener as () => void)());
    }
  }
}
