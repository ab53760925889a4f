/** The chat client library: see chat-client.ts. In Node 20 pass `webSocket: nodeWebSocket` (from ./node.ts). */
export type { MessageView, PresenceEvent } from '../functions/domain/protocol.ts';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.ts';
export {
  ChatClient,
  ChatClientError,
  type Ack,
  type ChatClientEvents,
  type ChatClientOptions,
  type ClientErrorCode,
  type ConnectionState,
  type Invited,
  type JoinedRoom,
  type JoinOptions,
  type PresenceChange,
  type Removed,
  type SendRetry,
  type StateChange,
  type TokenSource,
  type Typing,
} from './chat-client.ts';
export { globalWebSocketFactory, type WebSocketFactory, type WebSocketLike } from './socket.ts';
