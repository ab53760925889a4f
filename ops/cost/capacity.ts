/**
 * What breaks first as a profile grows (docs/capacity.md §2): each account, Lambda and DynamoDB limit against the
 * measured work of the profile, with the connections at which it is reached and what the operator does.
 */
import { STAGES } from '../../infra/config/stages.ts';
import { DEFAULT_ACCOUNT_QUOTAS } from '../../local/gateway/limits.ts';
import type { Coefficients } from './coefficients.ts';
import { MINUTES_PER_MONTH, monthlyWork, workInRoom, type TrafficProfile } from './model.ts';

const SECONDS_PER_MONTH = MINUTES_PER_MONTH * 60;

/** A usage profile the docs chart and tabulate: how clients behave, and how often each connection sends. */
export interface Scenario {
  readonly name: string;
  readonly profile: TrafficProfile;
  readonly messagesPerConnectionPerMinute: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'team chat',
    profile: { sessionMinutes: 480, joinsPerSession: 5, historyPagesPerJoin: 1, typingPerSend: 2, pingsPerMinute: 1, roomSize: 10 },
    messagesPerConnectionPerMinute: 0.2,
  },
  {
    name: 'community',
    profile: { sessionMinutes: 60, joinsPerSession: 2, historyPagesPerJoin: 1, typingPerSend: 1, pingsPerMinute: 1, roomSize: 100 },
    messagesPerConnectionPerMinute: 0.1,
  },
  {
    name: 'live event',
    profile: { sessionMinutes: 30, joinsPerSession: 1, historyPagesPerJoin: 1, typingPerSend: 0, pingsPerMinute: 1, roomSize: 1000 },
    messagesPerConnectionPerMinute: 0.02,
  },
];

export function messagesPerSecond(scenario: Scenario, connections: number): number {
  return (connections * scenario.messagesPerConnectionPerMinute) / 60;
}

/** Account-wide default quotas in one Region (raisable): Lambda's concurrent executions beside API Gateway's. */
export const LAMBDA_CONCURRENCY_QUOTA = 1000;
/** DynamoDB's per-partition throughput: what one room's items (one partition key each) can take per second. */
export const PARTITION_LIMITS = { readUnitsPerSecond: 3000, writeUnitsPerSecond: 1000 };
/** API Gateway's integration timeout: the longest a route's function may take to answer. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export interface LimitReached {
  readonly limit: string;
  readonly quota: string;
  /** Concurrent connections at which the profile reaches it (Infinity: never, it does not grow with connections). */
  readonly atConnections: number;
  readonly operator: string;
}

/** Every limit with the scale at which `scenario` reaches it, first reached first. */
export function limitsOf(coefficients: Coefficients, scenario: Scenario): LimitReached[] {
  // Work per second of one connection: every rate below is linear in the connections.
  const one = monthlyWork(coefficients, { connections: 1, messagesPerSecond: messagesPerSecond(scenario, 1), profile: scenario.profile });
  const perSecond = (prefix: string) => Object.entries(one).filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0) / SECONDS_PER_MONTH;
  const newConnections = 1 / (scenario.profile.sessionMinutes * 60);
  const requests = perSecond('apigateway.MessageCount');
  const concurrency = perSecond('lambda.billedMs.') / 1000;
  // A room's items share one partition key: its members all sending at the profile's rate.
  const send = workInRoom(coefficients, 'send', scenario.profile.roomSize);
  const roomKey = (prefix: string, table: string) => send[`${prefix}.wschat-${coefficients.stage}-${table}`] ?? 0;
  const roomSendsPerSecond = (scenario.profile.roomSize * scenario.messagesPerConnectionPerMinute) / 60;
  const hotRoomCeiling = Math.min(
    PARTITION_LIMITS.readUnitsPerSecond / Math.max(roomKey('dynamodb.readUnits', 'memberships'), 1e-9),
    // The room's counter item and its messages are on two tables: each partition takes the limit on its own.
    PARTITION_LIMITS.writeUnitsPerSecond / Math.max(roomKey('dynamodb.writeUnits', 'rooms'), roomKey('dynamodb.writeUnits', 'messages'), 1e-9),
  );
  // Synchronous fan-out: the prod threshold's recipients posted by the sender before it answers.
  const perRecipientMs = (workInRoom(coefficients, 'send', 100)[`lambda.billedMs.wschat-${coefficients.stage}-send`] ?? 0) / 100;
  const syncFanoutMs = perRecipientMs * STAGES.prod.fanout.asyncThreshold;
  const limits: LimitReached[] = [
    {
      limit: 'API Gateway new connections per second (account, Region)',
      quota: `${DEFAULT_ACCOUNT_QUOTAS.newConnectionsPerSecond}/s`,
      atConnections: DEFAULT_ACCOUNT_QUOTAS.newConnectionsPerSecond / newConnections,
      operator: 'quota increase; longer sessions (fewer reconnects); jittered reconnects (the client library backs off)',
    },
    {
      limit: 'API Gateway requests per second, routes and @connections posts together (account, Region)',
      quota: `${DEFAULT_ACCOUNT_QUOTAS.requestsPerSecond.toLocaleString('en-US')}/s`,
      atConnections: DEFAULT_ACCOUNT_QUOTAS.requestsPerSecond / requests,
      operator: 'quota increase; fewer typing notices and pings per connection; beyond a raised quota, a second account or Region',
    },
    {
      limit: 'Lambda concurrent executions (account, Region)',
      quota: `${LAMBDA_CONCURRENCY_QUOTA}`,
      atConnections: LAMBDA_CONCURRENCY_QUOTA / concurrency,
      operator: 'quota increase (to tens of thousands); reserved concurrency for send and fanout so typing cannot starve them',
    },
    {
      limit: `DynamoDB partition of one room (${PARTITION_LIMITS.readUnitsPerSecond} RCU/s, ${PARTITION_LIMITS.writeUnitsPerSecond} WCU/s)`,
      quota: `${Math.floor(hotRoomCeiling)} sends/s per room of ${scenario.profile.roomSize}`,
      atConnections: roomSendsPerSecond > hotRoomCeiling ? 0 : Infinity,
      operator: 'table design change: shard the room\'s membership list (room#shard keys) and its counter; until then, the send rate limit per connection holds a room below it',
    },
    {
      limit: 'API Gateway 29 s integration timeout (synchronous fan-out)',
      quota: `${STAGES.prod.fanout.asyncThreshold} recipients in ~${(syncFanoutMs / 1000).toFixed(1)} s (measured locally)`,
      atConnections: syncFanoutMs > INTEGRATION_TIMEOUT_MS ? 0 : Infinity,
      operator: 'lower fanout.asyncThreshold (larger rooms go to the fanout function in shards); raise fanout.concurrency',
    },
  ];
  return limits.sort((a, b) => a.atConnections - b.atConnections);
}
