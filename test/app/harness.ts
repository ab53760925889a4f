/** Shared wiring for use-case tests: the real DynamoChatStore on dynalite, a recording Telemetry, callers. */
import { MESSAGE_RETENTION_SECONDS_DEFAULT } from '../../functions/domain/retention.ts';
import { ROOM_LIMITS_DEFAULT } from '../../functions/domain/room-limits.ts';
import { CONNECTIONS_PER_USER_DEFAULT } from '../../functions/domain/connection-quota.ts';
import { randomUUID } from 'node:crypto';
import type { CustomMetricName } from '../../dashboards/metrics.ts';
import { DynamoChatStore } from '../../functions/adapters/dynamodb-store.ts';
import type { Caller, Deps } from '../../functions/app/context.ts';
import { FANOUT_CONCURRENCY_DEFAULT, SEND_RATE_DEFAULT } from '../../functions/catalog/env.ts';
import { ChatError } from '../../functions/domain/errors.ts';
import type { ConnectionNotifier, PostOutcome, Telemetry } from '../../functions/app/ports.ts';
import type { ServerFrame } from '../../functions/domain/protocol.ts';
import { joinRoom } from '../../functions/app/rooms.ts';
import { expect } from 'vitest';
import type { TestDynamo } from '../support/dynamo.ts';

/** Keeps what the use cases report so tests can assert on it; sums counts per metric. */
export class RecordingTelemetry implements Telemetry {
  readonly counts = new Map<CustomMetricName, number>();
  readonly durations: { metric: CustomMetricName; ms: number; about: Readonly<Record<string, string>> }[] = [];
  readonly warnings: { message: string; details: Record<string, unknown> }[] = [];

  count(metric: CustomMetricName, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }

  durationMs(metric: CustomMetricName, ms: number, about: Readonly<Record<string, string>> = {}): void {
    this.durations.push({ metric, ms, about });
  }

  warn(message: string, details: Record<string, unknown>): void {
    this.warnings.push({ message, details });
  }

  total(metric: CustomMetricName): number {
    return this.counts.get(metric) ?? 0;
  }
}

/** For use cases that must never post: any call is a test failure. */
export const noPosts: ConnectionNotifier = {
  post: async (connectionId) => {
    throw new Error(`unexpected post to ${connectionId}`);
  },
  disconnect: async (connectionId) => {
    throw new Error(`unexpected disconnect of ${connectionId}`);
  },
  isOpen: async (connectionId) => {
    throw new Error(`unexpected lookup of ${connectionId}`);
  },
};

export function makeDeps(dynamo: TestDynamo, notifier: ConnectionNotifier = noPosts, sendRate = SEND_RATE_DEFAULT) {
  const telemetry = new RecordingTelemetry();
  const store = new DynamoChatStore(dynamo.client, dynamo.tableNames);
  const deps: Deps = {
    store,
    notifier,
    telemetry,
    newId: randomUUID,
    sendRate,
    messageRetentionSeconds: MESSAGE_RETENTION_SECONDS_DEFAULT,
    connectionsPerUser: CONNECTIONS_PER_USER_DEFAULT,
    roomLimits: ROOM_LIMITS_DEFAULT,
    fanout: { concurrency: FANOUT_CONCURRENCY_DEFAULT },
  };
  return { deps, store, telemetry };
}

export function caller(userId: string, connectionId = `conn-${userId}-${randomUUID().slice(0, 8)}`): Caller {
  const now = Date.now();
  return { connectionId, userId, connectedAt: now, requestId: `req-${randomUUID()}`, nowMs: now };
}

/** The same connection making another request (new request id, current time). */
export function again(c: Caller): Caller {
  return { ...c, requestId: `req-${randomUUID()}`, nowMs: Date.now() };
}

export const freshRoom = (label = 'room') => `${label}-${randomUUID().slice(0, 8)}`;

/** A caller who has joined `room` through the real use case. */
export async function member(deps: Deps, room: string, userId: string, connectionId?: string): Promise<Caller> {
  const c = caller(userId, connectionId);
  await joinRoom(deps, c, { room });
  return c;
}

/** Keeps every frame posted; connections in `gone` answer like a 410 (closed without $disconnect). */
export class RecordingNotifier implements ConnectionNotifier {
  readonly posts: { connectionId: string; frame: ServerFrame }[] = [];
  readonly gone = new Set<string>();

  async post(connectionId: string, frame: ServerFrame): Promise<PostOutcome> {
    if (this.gone.has(connectionId)) return 'gone';
    this.posts.push({ connectionId, frame });
    return 'delivered';
  }

  /** No use case closes connections; the handlers' session check does (test/handlers/handlers.test.ts). */
  async disconnect(connectionId: string): Promise<boolean> {
    throw new Error(`unexpected disconnect of ${connectionId}`);
  }

  /** Open unless in `gone`, as `@connections` GET answers for a connection closed without `$disconnect`. */
  async isOpen(connectionId: string): Promise<boolean> {
    return !this.gone.has(connectionId);
  }

  framesTo(connectionId: string): ServerFrame[] {
    return this.posts.filter((p) => p.connectionId === connectionId).map((p) => p.frame);
  }

  ofType<T extends ServerFrame['type']>(type: T): { connectionId: string; frame: Extract<ServerFrame, { type: T }> }[] {
    return this.posts.filter((p) => p.frame.type === type) as { connectionId: string; frame: Extract<ServerFrame, { type: T }> }[];
  }

  clear(): void {
    this.posts.length = 0;
  }
}

/** The ChatError a use case rejects with; fails the test when it resolves or throws anything else. */
export async function rejection(promise: Promise<unknown>): Promise<ChatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  return error as ChatError;
}
