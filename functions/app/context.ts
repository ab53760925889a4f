import type { RoomScope } from '../domain/access.ts';
import type { AttachmentPolicy } from '../domain/attachments.ts';
import type { SendRateLimit } from '../domain/rate-limit.ts';
import type { LargeRoomPolicy } from '../domain/fanout.ts';
import type { RoomLimits } from '../domain/room-limits.ts';
import type { RouteRate } from '../domain/token-bucket.ts';
import type { AttachmentStorage, ChatStore, ConnectionNotifier, FanoutDispatcher, Telemetry } from './ports.ts';

/** Who is calling: identity comes from the authorizer context, never from the frame. */
export interface Caller {
  readonly connectionId: string;
  readonly userId: string;
  readonly connectedAt: number;
  readonly requestId: string;
  readonly nowMs: number;
  /** The handshake token's `exp` (epoch seconds); the connection is closed soon after it (domain/session.ts). */
  readonly tokenExpiresAt?: number;
  /** The token's `rooms` claim: when present, joins outside it are FORBIDDEN. */
  readonly roomScope?: RoomScope;
}

export interface Deps {
  readonly store: ChatStore;
  readonly notifier: ConnectionNotifier;
  readonly telemetry: Telemetry;
  readonly newId: () => string;
  readonly sendRate: SendRateLimit;
  /** How long a message is kept after it is sent (the send function's MESSAGE_RETENTION_SECONDS). */
  readonly messageRetentionSeconds: number;
  /** Open connections one user may hold; the next handshake is refused. */
  readonly connectionsPerUser: number;
  readonly roomLimits: RoomLimits;
  /** The token bucket of the function's route on each connection; absent, the route is not limited per connection. */
  readonly routeRate?: RouteRate;
  readonly fanout: FanoutConfig;
  /** The attachment bucket and what it admits; absent on functions not granted it (attachments are then refused). */
  readonly attachments?: Attachments;
}

export interface Attachments {
  readonly policy: AttachmentPolicy;
  readonly storage: AttachmentStorage;
}

export interface FanoutConfig {
  /** `@connections` posts one fan-out keeps in flight. */
  readonly concurrency: number;
  /** Where rooms above a threshold go; absent, every room is fanned out by the calling function. */
  readonly largeRooms?: LargeRoomPolicy & { readonly dispatcher: FanoutDispatcher };
}
