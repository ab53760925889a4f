/**
 * The monthly cost of a traffic profile, from the measured work per action (ops/cost/coefficients.json) and one
 * Region's prices (ops/cost/prices-us-east-1.json). Pure: the CLI (ops/cost/cli.ts) and docs/capacity.md's chart
 * (ops/cost/chart.ts) both call it.
 */
import { z } from 'zod';
import { CANARY_FUNCTION, FUNCTIONS, type FunctionName } from '../../functions/catalog/functions.ts';
import { TABLES, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { MEASURED_ROOM_SIZES, MINUTES_PER_MONTH, type ActionMeasurement, type Coefficients, type FixedResources } from './coefficients.ts';

export interface Prices {
  readonly region: string;
  readonly read: string;
  readonly apiGateway: { websocketMessagesPerMillion: number; websocketMessageUnitBytes: number; connectionMinutesPerMillion: number };
  readonly lambda: { requestsPerMillion: number; arm64GbSecond: number; arm64ProvisionedConcurrencyGbSecond: number; arm64ProvisionedDurationGbSecond: number };
  readonly dynamodb: { writeRequestUnitsPerMillion: number; readRequestUnitsPerMillion: number };
  readonly cloudwatch: {
    customMetricMonth: number;
    standardAlarmMonth: number;
    anomalyDetectionAlarmMonth: number;
    compositeAlarmMonth: number;
    dashboardMonth: number;
    logsIngestedGb: number;
    logsStoredGbMonth: number;
  };
  readonly xray: { tracesRecordedPerMillion: number };
  readonly sqs: { requestsPerMillion: number };
  readonly cloudtrail: { dataEventsPer100k: number };
  readonly kms: { keyMonth: number };
  readonly secretsManager: { secretMonth: number; apiCallsPer10k: number };
  readonly cognito: { machineClientMonth: number; machineTokenRequestsPerThousand: number };
}

/** How clients use the service, besides how many are connected and how fast they send. */
export const TrafficProfileSchema = z.strictObject({
  /** Average time a connection stays open: a connect and a disconnect per this many minutes of connection. */
  sessionMinutes: z.number().positive('must be a positive number of minutes'),
  /** Rooms a connection joins. */
  joinsPerSession: z.number().nonnegative('must be 0 or more'),
  /** History pages read per join (the client library reads one to catch up). */
  historyPagesPerJoin: z.number().nonnegative('must be 0 or more'),
  /** Typing notices per message sent (the client library throttles them). */
  typingPerSend: z.number().nonnegative('must be 0 or more'),
  /** Pings per connection and minute (the client library pings once a minute). */
  pingsPerMinute: z.number().nonnegative('must be 0 or more'),
  /** Members of the room a message, typing notice or presence change goes to. */
  roomSize: z.int('must be a whole number of members').min(1, 'must be at least 1'),
});
export type TrafficProfile = z.infer<typeof TrafficProfileSchema>;

export const DEFAULT_PROFILE: TrafficProfile = {
  sessionMinutes: 60,
  joinsPerSession: 2,
  historyPagesPerJoin: 1,
  typingPerSend: 1,
  pingsPerMinute: 1,
  roomSize: 100,
};

export interface Traffic {
  /** Concurrent connections, on average over the month. */
  readonly connections: number;
  /** Messages sent per second, across all rooms. */
  readonly messagesPerSecond: number;
  readonly profile: TrafficProfile;
}

export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

export { MINUTES_PER_MONTH };
const SECONDS_PER_MONTH = MINUTES_PER_MONTH * 60;

/** X-Ray's default sampling, which Lambda applies: the first request each second, then 5% of the rest. */
function sampledTraces(invocationsPerMonth: number): number {
  const perSecond = invocationsPerMonth / SECONDS_PER_MONTH;
  return perSecond <= 1 ? invocationsPerMonth : SECONDS_PER_MONTH * (1 + 0.05 * (perSecond - 1));
}

/** An action's work in a room of `size`, linear between the measured sizes and along the last slope beyond them. */
export function workInRoom(coefficients: Coefficients, action: string, size: number): ActionMeasurement {
  const sizes = [...MEASURED_ROOM_SIZES];
  const at = (s: number) => {
    const work = coefficients.actions[`${action}.${s}`];
    if (!work) throw new Error(`the coefficients have no ${action}.${s}: regenerate them (npx tsx ops/cost/measure.ts)`);
    return work;
  };
  const upper = sizes.findIndex((s) => s >= size);
  const [low, high] = upper <= 0 ? (upper === 0 ? [sizes[0]!, sizes[1]!] : [sizes.at(-2)!, sizes.at(-1)!]) : [sizes[upper - 1]!, sizes[upper]!];
  const [a, b] = [at(low), at(high)];
  const share = (size - low) / (high - low);
  const series = new Set([...Object.keys(a), ...Object.keys(b)]);
  return Object.fromEntries([...series].map((k) => [k, Math.max(0, (a[k] ?? 0) + ((b[k] ?? 0) - (a[k] ?? 0)) * share)]));
}

/** Adds `times` occurrences of `work` into `total`. */
function accumulate(total: Record<string, number>, work: ActionMeasurement, times: number): void {
  for (const [k, v] of Object.entries(work)) total[k] = (total[k] ?? 0) + v * times;
}

/** The catalog entry of a measured function (`wschat-<stage>-<name>`). */
function functionOf(physical: string, stage: string): FunctionName {
  const name = physical.replace(`wschat-${stage}-`, '') as FunctionName;
  if (!(name in FUNCTIONS)) throw new Error(`the coefficients measured ${physical}, which is not in the function catalog: regenerate them`);
  return name;
}

/** The whole month's work of a traffic, summed over every action. */
export function monthlyWork(coefficients: Coefficients, traffic: Traffic): Record<string, number> {
  const { connections, messagesPerSecond, profile } = traffic;
  const sessions = (connections * MINUTES_PER_MONTH) / profile.sessionMinutes;
  const joins = sessions * profile.joinsPerSession;
  const sends = messagesPerSecond * SECONDS_PER_MONTH;
  const room = (action: string) => workInRoom(coefficients, action, profile.roomSize);
  const total: Record<string, number> = {};
  accumulate(total, coefficients.actions.connect!, sessions);
  accumulate(total, room('join'), joins);
  accumulate(total, room('history'), joins * profile.historyPagesPerJoin);
  accumulate(total, room('send'), sends);
  accumulate(total, room('typing'), sends * profile.typingPerSend);
  accumulate(total, coefficients.actions.ping!, connections * MINUTES_PER_MONTH * profile.pingsPerMinute);
  // A disconnect leaves every room joined: its room-wide part once per room.
  const alone = workInRoom(coefficients, 'disconnect', 1);
  accumulate(total, alone, sessions);
  const perRoom = Object.fromEntries(Object.entries(room('disconnect')).map(([k, v]) => [k, v - (alone[k] ?? 0)]));
  accumulate(total, perRoom, sessions * profile.joinsPerSession);
  total['apigateway.connectionMinutes'] = connections * MINUTES_PER_MONTH;
  return total;
}

/**
 * A healthy canary run's billed duration at its catalog memory: seven steps of round trips within the Region on a
 * warm environment. An estimate (the measurement does not run the canary); its other work is measured.
 */
export const CANARY_RUN_BILLED_MS = 1000;

/**
 * The canary's month: each run is a client's connect, join, send, history page and disconnect in its own room (one
 * member), a connection of under a minute, and the scheduled invocation itself.
 */
export function canaryWork(coefficients: Coefficients, runs: number): Record<string, number> {
  const total: Record<string, number> = {};
  accumulate(total, coefficients.actions.connect!, runs);
  for (const action of ['join', 'send', 'history', 'disconnect']) accumulate(total, workInRoom(coefficients, action, 1), runs);
  const canary = `wschat-${coefficients.stage}-${CANARY_FUNCTION}`;
  accumulate(total, { [`lambda.invocations.${canary}`]: 1, [`lambda.billedMs.${canary}`]: CANARY_RUN_BILLED_MS, 'apigateway.connectionMinutes': 1 }, runs);
  return total;
}

/**
 * The lines of a month's work by request: messages, connections, invocations, request units, logs, traces, data
 * events. `provisionedFits`: the work's concurrency stays within the provisioned environments (the canary's), so
 * the provisioned functions' invocations are billed at the provisioned duration price; the traffic's compute is
 * priced on demand (an upper bound: beyond the minimum, scaling adds environments and spills bursts over).
 */
function pricedWork(coefficients: Coefficients, prices: Prices, fixed: FixedResources, work: Record<string, number>, provisionedFits: boolean): CostLine[] {
  const sum = (prefix: string) => Object.entries(work).filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
  const lines: CostLine[] = [];
  const line = (service: string, item: string, quantity: number, unit: string, usd: number) => lines.push({ service, item, quantity, unit, usd });

  const messages = work['apigateway.MessageCount'] ?? 0;
  line('API Gateway', 'WebSocket messages (32 KB units)', messages, 'messages', (messages / 1e6) * prices.apiGateway.websocketMessagesPerMillion);
  const minutes = work['apigateway.connectionMinutes'] ?? 0;
  line('API Gateway', 'connection minutes', minutes, 'minutes', (minutes / 1e6) * prices.apiGateway.connectionMinutesPerMillion);

  const invocations = sum('lambda.invocations.');
  let gbSeconds = 0;
  let provisionedGbSeconds = 0;
  for (const [key, ms] of Object.entries(work).filter(([k]) => k.startsWith('lambda.billedMs.'))) {
    const name = functionOf(key.slice('lambda.billedMs.'.length), coefficients.stage);
    const used = (ms / 1000) * (FUNCTIONS[name].memoryMb / 1024);
    if (provisionedFits && fixed.provisionedConcurrency[name]) provisionedGbSeconds += used;
    else gbSeconds += used;
  }
  line('Lambda', 'requests', invocations, 'invocations', (invocations / 1e6) * prices.lambda.requestsPerMillion);
  line('Lambda', 'compute (arm64)', gbSeconds, 'GB-seconds', gbSeconds * prices.lambda.arm64GbSecond);
  if (provisionedGbSeconds > 0) {
    line('Lambda', 'compute on provisioned environments (arm64)', provisionedGbSeconds, 'GB-seconds', provisionedGbSeconds * prices.lambda.arm64ProvisionedDurationGbSecond);
  }

  const readUnits = sum('dynamodb.readUnits.');
  // A write to an item of a table with a keys-only index writes the index too: one more unit (an upper bound).
  const indexWrites = Object.entries(work)
    .filter(([k]) => k.startsWith('dynamodb.writes.'))
    .filter(([k]) => ((TABLES[k.slice(`dynamodb.writes.wschat-${coefficients.stage}-`.length) as TableKey] as TableSchema | undefined)?.indexes?.length ?? 0) > 0)
    .reduce((s, [, v]) => s + v, 0);
  const writeUnits = sum('dynamodb.writeUnits.') + indexWrites;
  line('DynamoDB', 'read request units', readUnits, 'RRU', (readUnits / 1e6) * prices.dynamodb.readRequestUnitsPerMillion);
  line('DynamoDB', 'write request units (indexes included)', writeUnits, 'WRU', (writeUnits / 1e6) * prices.dynamodb.writeRequestUnitsPerMillion);

  const logGb = (work['logs.bytes'] ?? 0) / 2 ** 30;
  line('CloudWatch', 'logs ingested', logGb, 'GB', logGb * prices.cloudwatch.logsIngestedGb);
  line('CloudWatch', `logs stored (${fixed.logRetentionDays} days retention)`, logGb * (fixed.logRetentionDays / 30), 'GB-months', logGb * (fixed.logRetentionDays / 30) * prices.cloudwatch.logsStoredGbMonth);

  const traces = sampledTraces(invocations);
  line('X-Ray', 'traces recorded (Lambda default sampling)', traces, 'traces', (traces / 1e6) * prices.xray.tracesRecordedPerMillion);
  if (fixed.trails > 0) {
    // The trail leaves out the stage's functions' own calls (infra/constructs/audit-trail.ts): what remains are
    // API Gateway's invokes of the route functions (an upper bound: they carry no role ARN to filter on).
    const dataEvents = invocations - (work[`lambda.invocations.wschat-${coefficients.stage}-fanout`] ?? 0);
    line('CloudTrail', 'data events (API Gateway invokes, at most)', dataEvents, 'events', (dataEvents / 1e5) * prices.cloudtrail.dataEventsPer100k);
  }
  return lines;
}

/** Every priced line of a month: per-request services from the traffic, the observability, audit and canary by the month. */
export function monthlyCost(coefficients: Coefficients, prices: Prices, traffic: Traffic, stage = 'prod'): CostLine[] {
  const work = monthlyWork(coefficients, traffic);
  const fixed = coefficients.fixed[stage];
  if (!fixed) throw new Error(`the coefficients count no resources of stage ${stage}: regenerate them`);
  const lines = pricedWork(coefficients, prices, fixed, work, false);
  const line = (service: string, item: string, quantity: number, unit: string, usd: number) => lines.push({ service, item, quantity, unit, usd });

  const metrics = coefficients.customMetricSeries + fixed.detailedMetricRoutes * API_METRICS_PER_ROUTE;
  line('CloudWatch', 'custom and per-route metrics', metrics, 'metrics', metrics * prices.cloudwatch.customMetricMonth);
  line('CloudWatch', 'alarms (standard, anomaly, composite)', fixed.standardAlarms + fixed.anomalyAlarms + fixed.compositeAlarms, 'alarms',
    fixed.standardAlarms * prices.cloudwatch.standardAlarmMonth + fixed.anomalyAlarms * prices.cloudwatch.anomalyDetectionAlarmMonth + fixed.compositeAlarms * prices.cloudwatch.compositeAlarmMonth);
  line('CloudWatch', 'dashboards', fixed.dashboards, 'dashboards', fixed.dashboards * prices.cloudwatch.dashboardMonth);
  // Only failed fan-out shards reach the dead-letter queue; a healthy month sends none.
  line('SQS', 'dead-letter queue (failures only)', 0, 'requests', 0);
  if (fixed.trails > 0) line('KMS', 'audit trail key', fixed.kmsKeys, 'keys', fixed.kmsKeys * prices.kms.keyMonth);

  const provisioned = Object.values(fixed.provisionedConcurrency);
  if (provisioned.length) {
    // Held all month at the scaling targets' minimum; scaling up under load adds to it.
    const environments = provisioned.reduce((n, p) => n + p.environments, 0);
    const gbSeconds = provisioned.reduce((gb, p) => gb + p.environments * (p.memoryMb / 1024), 0) * SECONDS_PER_MONTH;
    line('Lambda', `provisioned concurrency (${environments} environments at the minimum, allocated)`, gbSeconds, 'GB-seconds', gbSeconds * prices.lambda.arm64ProvisionedConcurrencyGbSecond);
  }
  if (fixed.canaryRunsPerMonth > 0) {
    const runs = fixed.canaryRunsPerMonth;
    for (const l of pricedWork(coefficients, prices, fixed, canaryWork(coefficients, runs), true)) {
      if (l.quantity > 0) lines.push({ ...l, service: 'Canary', item: `${l.service}: ${l.item}` });
    }
    // The canary keeps its token until a minute before it expires: one token, and one read of the secret, per
    // token lifetime of a warm environment (a cold start asks again); without a machine client of the stack's, at most one per run.
    const tokens = fixed.machineTokenMinutes > 1 ? Math.min(runs, MINUTES_PER_MONTH / (fixed.machineTokenMinutes - 1)) : runs;
    if (fixed.machineClients > 0) {
      line('Canary', 'Cognito: machine client', fixed.machineClients, 'app clients', fixed.machineClients * prices.cognito.machineClientMonth);
      line('Canary', 'Cognito: client-credentials token requests', tokens, 'tokens', (tokens / 1000) * prices.cognito.machineTokenRequestsPerThousand);
    }
    line('Canary', 'Secrets Manager: secret reads', tokens, 'API calls', (tokens / 1e4) * prices.secretsManager.apiCallsPer10k);
  }
  if (fixed.secrets > 0) line('Secrets Manager', "secrets (the canary's client secret)", fixed.secrets, 'secrets', fixed.secrets * prices.secretsManager.secretMonth);
  return lines;
}

/** API Gateway metrics per route with detailed metrics on (ConnectCount, MessageCount, three errors, latency). */
export const API_METRICS_PER_ROUTE = 6;

/** The lines that do not grow with traffic: what observability, audit, the canary and provisioned concurrency cost with no client at all. */
export function fixedMonthlyCost(coefficients: Coefficients, prices: Prices, stage = 'prod'): CostLine[] {
  return monthlyCost(coefficients, prices, { connections: 0, messagesPerSecond: 0, profile: DEFAULT_PROFILE }, stage).filter((l) => l.usd > 0);
}
