/** Wires the adapters once per cold start; handlers import the result. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ENV,
  fanoutConcurrencyFromEnv,
  largeRoomPolicyFromEnv,
  requireEnv,
  routeRateFromEnv,
  sendRateLimitFromEnv,
} from '../catalog/env.ts';
import { TABLE_KEYS, tableEnvVar, type TableKey } from '../catalog/tables.ts';
import type { Deps, FanoutConfig } from '../app/context.ts';
import type { ConnectionNotifier } from '../app/ports.ts';
import { ConnectionsApiNotifier } from '../adapters/connections-api.ts';
import { DynamoChatStore } from '../adapters/dynamodb-store.ts';
import { LambdaFanoutDispatcher } from '../adapters/lambda-dispatcher.ts';
import { telemetry, tracer } from './observability.ts';

/** Table names from the environment; a function only gets the variables of the tables its policy grants. */
function tableNamesFromEnv(): Record<TableKey, string> {
  return Object.fromEntries(TABLE_KEYS.map((t) => [t, process.env[tableEnvVar(t)] ?? ''])) as Record<TableKey, string>;
}

/** Created on first post: functions that never post ($connect, $disconnect) have no endpoint configured. */
function lazyNotifier(): ConnectionNotifier {
  let notifier: ConnectionNotifier | undefined;
  return {
    post(connectionId, frame) {
      // Not traced per post: a fan-out makes one post per member, and a subsegment each (an async-hook context,
      // a UDP datagram, trace volume) cost about a quarter of the fan-out's CPU; the invocation's trace and the
      // Fanout* metrics cover it.
      notifier ??= new ConnectionsApiNotifier({ endpoint: requireEnv(ENV.connectionsEndpoint), region: requireEnv('AWS_REGION') });
      return notifier.post(connectionId, frame);
    },
    disconnect(connectionId) {
      notifier ??= new ConnectionsApiNotifier({ endpoint: requireEnv(ENV.connectionsEndpoint), region: requireEnv('AWS_REGION') });
      return notifier.disconnect(connectionId);
    },
  };
}

function fanoutFromEnv(): FanoutConfig {
  const concurrency = fanoutConcurrencyFromEnv();
  const policy = largeRoomPolicyFromEnv();
  if (!policy) return { concurrency };
  const { functionName, ...largeRoom } = policy;
  const dispatcher = new LambdaFanoutDispatcher(tracer.captureAWSv3Client(new LambdaClient({})), functionName);
  return { concurrency, largeRooms: { ...largeRoom, dispatcher } };
}

export function createDeps(): Deps {
  const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({}));
  const db = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return {
    store: new DynamoChatStore(db, tableNamesFromEnv()),
    notifier: lazyNotifier(),
    telemetry,
    newId: randomUUID,
    sendRate: sendRateLimitFromEnv(),
    routeRate: routeRateFromEnv(),
    fanout: fanoutFromEnv(),
  };
}

/** The one set every handler of a bundle shares, created at cold start. */
export const deps = createDeps();
