/**
 * Wires a function's adapters once per cold start. Each handler names what it uses (its Wiring); the DynamoDB and
 * Lambda clients live in their own modules (dynamodb.ts, lambda.ts), so a bundle that does not import them
 * neither carries nor initializes them.
 */
import { randomUUID } from 'node:crypto';
import {
  attachmentSettingsFromEnv,
  connectionsPerUserFromEnv,
  messageRetentionSecondsFromEnv,
  roomLimitsFromEnv,
  ENV,
  fanoutConcurrencyFromEnv,
  largeRoomPolicyFromEnv,
  requireEnv,
  routeRateFromEnv,
  sendRateLimitFromEnv,
} from '../catalog/env.ts';
import { TABLE_KEYS, tableEnvVar, type TableKey } from '../catalog/tables.ts';
import type { Attachments, Deps, FanoutConfig } from '../app/context.ts';
import type { AttachmentStorage, ChatStore, ConnectionNotifier, FanoutDispatcher } from '../app/ports.ts';
import { ConnectionsApiNotifier } from '../adapters/connections-api.ts';
import { telemetry } from './observability.ts';

export interface Wiring {
  /** For functions granted tables (functions/catalog/functions.ts): the store over them. */
  readonly store?: (tables: Readonly<Record<TableKey, string>>) => ChatStore;
  /** For functions that broadcast: hands a large room's shards to the fan-out function. */
  readonly dispatcher?: (functionName: string) => FanoutDispatcher;
  /** For functions granted the attachment bucket: the storage over it. */
  readonly storage?: (bucket: string) => AttachmentStorage;
}

/** Table names from the environment; a function only gets the variables of the tables its policy grants. */
function tableNamesFromEnv(): Record<TableKey, string> {
  return Object.fromEntries(TABLE_KEYS.map((t) => [t, process.env[tableEnvVar(t)] ?? ''])) as Record<TableKey, string>;
}

/** Created on first use: functions that never call `@connections` have no endpoint configured. */
function lazyNotifier(): ConnectionNotifier {
  let notifier: ConnectionNotifier | undefined;
  const connectionsApi = () =>
    (notifier ??= new ConnectionsApiNotifier({ endpoint: requireEnv(ENV.connectionsEndpoint), region: requireEnv('AWS_REGION') }));
  return {
    // Not traced per post: a fan-out makes one post per member, and a subsegment each (an async-hook context,
    // a UDP datagram, trace volume) cost about a quarter of the fan-out's CPU; the invocation's trace and the
    // Fanout* metrics cover it.
    post: (connectionId, frame) => connectionsApi().post(connectionId, frame),
    disconnect: (connectionId) => connectionsApi().disconnect(connectionId),
    isOpen: (connectionId) => connectionsApi().isOpen(connectionId),
  };
}

/** The store of a function wired without one: a call is a wiring mistake, and says so. */
const noStore = new Proxy({} as ChatStore, {
  get: (_store, method) => () => Promise.reject(new Error(`this function is wired without a store (ChatStore.${String(method)})`)),
});

function fanoutFromEnv(dispatcher: Wiring['dispatcher']): FanoutConfig {
  const concurrency = fanoutConcurrencyFromEnv();
  const policy = largeRoomPolicyFromEnv();
  if (!policy) return { concurrency };
  if (!dispatcher) throw new Error(`${ENV.fanoutFunction} is set, but this function is wired without a fan-out dispatcher`);
  const { functionName, ...largeRoom } = policy;
  return { concurrency, largeRooms: { ...largeRoom, dispatcher: dispatcher(functionName) } };
}

function attachmentsFromEnv(storage: Wiring['storage']): Attachments | undefined {
  const settings = attachmentSettingsFromEnv();
  if (!settings) return undefined;
  if (!storage) throw new Error(`${ENV.attachmentsBucket} is set, but this function is wired without attachment storage`);
  return { policy: settings.policy, storage: storage(settings.bucket) };
}

export function createDeps(wiring: Wiring): Deps {
  const attachments = attachmentsFromEnv(wiring.storage);
  return {
    ...(attachments ? { attachments } : {}),
    store: wiring.store ? wiring.store(tableNamesFromEnv()) : noStore,
    notifier: lazyNotifier(),
    telemetry,
    newId: randomUUID,
    sendRate: sendRateLimitFromEnv(),
    messageRetentionSeconds: messageRetentionSecondsFromEnv(),
    connectionsPerUser: connectionsPerUserFromEnv(),
    roomLimits: roomLimitsFromEnv(),
    routeRate: routeRateFromEnv(),
    fanout: fanoutFromEnv(wiring.dispatcher),
  };
}
