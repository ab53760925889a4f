/**
 * The part of a WebSocket the client uses. Browsers' global WebSocket and the `ws` package both fit it, so the
 * client takes a factory and never imports either.
 */
export interface SocketMessageEvent {
  readonly data: unknown;
}

export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: SocketMessageEvent) => void): void;
  addEventListener(type: 'close', listener: (event: SocketCloseEvent) => void): void;
  addEventListener(type: 'error', listener: () => void): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

/** readyState of an open socket (the same constant in browsers and `ws`). */
export const SOCKET_OPEN = 1;

/** The platform's WebSocket (browsers, Deno, Node 22+); Node 20 has none and needs `nodeWebSocket` from ./node.ts. */
export function globalWebSocketFactory(): WebSocketFactory {
  const Constructor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Constructor) {
    throw new Error(
      'no global WebSocket on this platform: pass the webSocket option (in Node: nodeWebSocket from client/node.ts)',
    );
  }
  return (url) => new Constructor(url);
}
