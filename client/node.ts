/** Node's WebSocket for the client: the `ws` package (Node 20 has no global WebSocket). */
import WebSocket from 'ws';
import type { WebSocketFactory } from './socket.ts';

export const nodeWebSocket: WebSocketFactory = (url) => new WebSocket(url);
