import type { SendRateLimit } from '../domain/rate-limit.ts';
import type { ChatStore, ConnectionNotifier, Telemetry } from './ports.ts';

/** Who is calling: identity comes from the authorizer context, never from the frame. */
export interface Caller {
  readonly connectionId: string;
  readonly userId: string;
  readonly connectedAt: number;
  readonly requestId: string;
  readonly nowMs: number;
}

export interface Deps {
  readonly store: ChatStore;
  readonly notifier: ConnectionNotifier;
  readonly telemetry: Telemetry;
  readonly newId: () => string;
  readonly sendRate: SendRateLimit;
  /** `@connections` posts one fan-out keeps in flight. */
  readonly fanoutConcurrency: number;
}
