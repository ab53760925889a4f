/**
 * The on-call dashboard as a typed definition, read top-down by someone paged at 3 am, for the first five minutes
 * of an incident: health first (the page, each SLO's error budget and burn rate, every alarm's state), then the
 * API with its error rates and per-route latency, each function, the account's concurrency, DynamoDB, business
 * metrics and logs. Infra renders it into a CloudWatch dashboard body; the local stack renders the synthesized
 * body with live local data. Thresholds are never typed here: rate widgets name catalog alarms, and infra draws
 * each alarm's threshold (with the stage's overrides) as a horizontal annotation.
 */
import { ALARMS, type AlarmId, type AlarmScope, type MetricRef } from './alarms.ts';
import { METRICS_NAMESPACE, metricUnit, type CanaryMetricName, type MetricName } from './metrics.ts';
import { QUERIES } from './queries.ts';
import { SLOS, type SloId } from './slos.ts';

export interface Series {
  readonly metric: MetricRef;
  readonly label: string;
}

/** A horizontal line on a graph: a catalog alarm's threshold as the stage renders it, or a share of the concurrency quota. */
export type Annotation = { readonly alarm: AlarmId } | { readonly quotaShare: number; readonly label: string };

export type Widget =
  | { readonly type: 'text'; readonly markdown: string }
  /** Alarm states: the page composite and the SLO tiers that page or ticket, or every metric alarm of the stage. */
  | { readonly type: 'alarms'; readonly title: string; readonly alarms: 'page-and-slos' | 'all' }
  | {
      readonly type: 'metric';
      readonly title: string;
      readonly scope: AlarmScope | 'route';
      readonly series: readonly Series[];
      readonly annotations?: readonly Annotation[];
    }
  /** The rate a ratio alarm of the catalog computes, as it computes it (traffic floor included), with its threshold. */
  | { readonly type: 'rate'; readonly title: string; readonly alarms: readonly AlarmId[] }
  /** What is left of an SLO's 30-day error budget, one number. */
  | { readonly type: 'budget'; readonly slo: SloId }
  /** An SLO's burn rate over the last minutes, with each tier's rate drawn as an annotation. */
  | { readonly type: 'burn-rate'; readonly slo: SloId }
  | { readonly type: 'logs'; readonly title: string; readonly queryId: (typeof QUERIES)[number]['id'] };

export interface Section {
  readonly title: string;
  /** Repeat the section for every function or table of the stack, or every alias it provisions concurrency on. */
  readonly each?: 'function' | 'table' | 'provisioned-alias';
  /** Only on stages with detailed (per-route) API metrics; elsewhere the `Route` dimension has no data. */
  readonly onlyWithDetailedMetrics?: true;
  readonly widgets: readonly Widget[];
}

const api = (name: string, stat: MetricRef['stat'] = 'Sum'): Series => ({ metric: { namespace: 'AWS/ApiGateway', name, stat }, label: `${name} (${stat})` });
const route = (name: string, stat: MetricRef['stat']): Series => ({ metric: { namespace: 'AWS/ApiGateway', name, stat, across: 'routes' }, label: `${name} (${stat})` });
const lambda = (name: string, stat: MetricRef['stat'] = 'Sum'): Series => ({ metric: { namespace: 'AWS/Lambda', name, stat }, label: `${name} (${stat})` });
const table = (name: string, across?: MetricRef['across'], stat: MetricRef['stat'] = 'Sum'): Series => ({
  metric: { namespace: 'AWS/DynamoDB', name, stat, ...(across ? { across } : {}) },
  label: stat === 'Sum' ? name : `${name} (${stat})`,
});
const queue = (name: string, stat: MetricRef['stat']): Series => ({ metric: { namespace: 'AWS/SQS', name, stat }, label: `${name} (${stat})` });
const business = (name: MetricName, stat: MetricRef['stat'] = 'Sum'): Series => ({
  metric: { namespace: METRICS_NAMESPACE, name, stat },
  label: `${name}${metricUnit(name) === 'Milliseconds' ? ` ${stat} (ms)` : ''}`,
});

const pageAlarms = ALARMS.filter((a) => a.severity === 'page').length;

/** The canary's step latencies, in the order it runs them. */
const CANARY_LATENCIES: readonly CanaryMetricName[] = [
  'CanaryTokenLatency',
  'CanaryConnectLatency',
  'CanaryJoinLatency',
  'CanaryAckLatency',
  'CanaryDeliveryLatency',
  'CanaryHistoryLatency',
  'CanaryDisconnectLatency',
];

export const DASHBOARD: readonly Section[] = [
  {
    title: 'Health',
    widgets: [
      // The top row: whether a user can chat right now, whatever the traffic (dashboards/runbooks/canary-failing.md).
      { type: 'metric', title: 'Canary success (1 = every step worked)', scope: 'service', series: [business('CanarySuccess', 'Minimum')] },
      { type: 'metric', title: 'Canary latency by step (ms)', scope: 'service', series: CANARY_LATENCIES.map((name) => business(name, 'Maximum')) },
      {
        type: 'text',
        markdown: [
          '# wschat on-call',
          `**Start here.** The page fires when one of ${pageAlarms} page alarms or an SLO's fast or medium burn-rate tier is in ALARM.`,
          "Each alarm's description links its runbook (`dashboards/runbooks/`); SLOs, burn rates and this dashboard are explained in `docs/operations.md`.",
        ].join('\n\n'),
      },
      { type: 'alarms', title: 'Page alarm and SLO burn-rate tiers', alarms: 'page-and-slos' },
      ...SLOS.map((slo): Widget => ({ type: 'budget', slo: slo.id })),
      ...SLOS.map((slo): Widget => ({ type: 'burn-rate', slo: slo.id })),
      { type: 'alarms', title: 'Every alarm', alarms: 'all' },
    ],
  },
  {
    title: 'WebSocket API',
    widgets: [
      { type: 'rate', title: 'Error rates (%)', alarms: ['api-integration-errors', 'api-execution-errors', 'api-client-errors'] },
      { type: 'metric', title: 'Connections and messages', scope: 'api', series: [api('ConnectCount'), api('MessageCount')] },
      { type: 'metric', title: 'Errors', scope: 'api', series: [api('IntegrationError'), api('ExecutionError'), api('ClientError')] },
      {
        type: 'metric',
        title: 'Integration latency (ms)',
        scope: 'api',
        series: [api('IntegrationLatency', 'p50'), api('IntegrationLatency', 'p99')],
        annotations: [{ alarm: 'api-integration-latency' }],
      },
    ],
  },
  {
    // Prod enables detailed route metrics: each route's own latency and errors, under the Route dimension.
    title: 'Routes',
    onlyWithDetailedMetrics: true,
    widgets: [
      { type: 'metric', title: 'Integration latency p99 by route (ms)', scope: 'route', series: [route('IntegrationLatency', 'p99')] },
      { type: 'metric', title: 'Integration errors by route', scope: 'route', series: [route('IntegrationError', 'Sum')] },
      { type: 'metric', title: 'Client errors by route', scope: 'route', series: [route('ClientError', 'Sum')] },
    ],
  },
  {
    title: 'Lambda account',
    widgets: [
      {
        type: 'metric',
        title: 'Account concurrency',
        scope: 'account',
        series: [lambda('ClaimedAccountConcurrency', 'Maximum'), lambda('ConcurrentExecutions', 'Maximum')],
        annotations: [{ alarm: 'lambda-concurrency' }, { quotaShare: 1, label: 'account quota' }],
      },
    ],
  },
  {
    title: 'Function',
    each: 'function',
    widgets: [
      { type: 'rate', title: 'Error rate (%)', alarms: ['lambda-errors'] },
      { type: 'metric', title: 'Invocations and errors', scope: 'function', series: [lambda('Invocations'), lambda('Errors'), lambda('Throttles')] },
      {
        type: 'metric',
        title: 'Duration (ms)',
        scope: 'function',
        series: [lambda('Duration', 'p50'), lambda('Duration', 'p90'), lambda('Duration', 'p99')],
        annotations: [{ alarm: 'lambda-duration' }],
      },
      { type: 'metric', title: 'Concurrency', scope: 'function', series: [lambda('ConcurrentExecutions', 'Maximum')] },
    ],
  },
  {
    // Only where the stage provisions concurrency (prod: the connect path and send).
    title: 'Provisioned concurrency',
    each: 'provisioned-alias',
    widgets: [
      {
        type: 'metric',
        title: 'Provisioned environments in use',
        scope: 'provisioned-alias',
        series: [lambda('ProvisionedConcurrentExecutions', 'Maximum'), lambda('ProvisionedConcurrencyUtilization', 'Maximum')],
      },
      {
        type: 'metric',
        title: 'Served warm and spilled over (cold)',
        scope: 'provisioned-alias',
        series: [lambda('ProvisionedConcurrencyInvocations'), lambda('ProvisionedConcurrencySpilloverInvocations')],
      },
    ],
  },
  {
    title: 'DynamoDB',
    each: 'table',
    widgets: [
      {
        type: 'metric',
        title: 'Latency by operation (ms)',
        scope: 'table',
        series: [table('SuccessfulRequestLatency', 'operations', 'Average')],
        annotations: [{ alarm: 'dynamodb-latency' }],
      },
      { type: 'metric', title: 'Throttles (table and each index) and errors', scope: 'table', series: [table('ReadThrottleEvents', 'indexes'), table('WriteThrottleEvents', 'indexes'), table('SystemErrors', 'operations')] },
      { type: 'metric', title: 'Consumed capacity', scope: 'table', series: [table('ConsumedReadCapacityUnits'), table('ConsumedWriteCapacityUnits')] },
    ],
  },
  {
    title: 'Chat (business metrics)',
    widgets: [
      { type: 'rate', title: 'Delivery failure rate (%)', alarms: ['delivery-failures'] },
      { type: 'metric', title: 'Connections', scope: 'service', series: [business('ConnectionsOpened'), business('ConnectionsClosed'), business('ConnectAuthFailed'), business('ConnectionsRefused')] },
      {
        type: 'metric',
        title: 'Messages',
        scope: 'service',
        series: [business('MessagesReceived'), business('MessagesDelivered'), business('DeliveryFailed'), business('IdempotentReplay'), business('SendsFailed')],
      },
      {
        // Refusals are clients breaking the rules (or a stage limit set too low): read, not alarmed on.
        type: 'metric',
        title: 'Rate limited and invalid requests',
        scope: 'service',
        series: [business('RateLimited'), business('RouteRateLimited'), business('MessageValidationFailed'), business('SessionsExpired')],
      },
      {
        type: 'metric',
        title: 'Fan-out',
        scope: 'service',
        series: [business('FanoutDuration', 'p99'), business('FanoutRecipients'), business('FanoutShards'), business('StaleConnectionsPruned')],
        annotations: [{ alarm: 'fanout-duration' }],
      },
      {
        type: 'metric',
        title: 'Attachments',
        scope: 'service',
        series: [business('AttachmentUploadsPresigned'), business('AttachmentsAttached'), business('AttachmentDownloads'), business('AttachmentBytes')],
      },
      {
        // Refusals are clients breaking the rules (or a stage limit set too low): read, not alarmed on.
        type: 'metric',
        title: 'Attachments refused (by reason)',
        scope: 'service',
        series: [
          business('AttachmentsRefusedNotFound'),
          business('AttachmentsRefusedTooLarge'),
          business('AttachmentsRefusedUnsupportedType'),
          business('AttachmentsRefusedAlreadyAttached'),
        ],
      },
      {
        type: 'metric',
        title: 'Fan-out dead letters',
        scope: 'queue',
        series: [queue('ApproximateNumberOfMessagesVisible', 'Maximum'), queue('NumberOfMessagesSent', 'Sum')],
      },
    ],
  },
  {
    title: 'Logs',
    widgets: QUERIES.map((q) => ({ type: 'logs' as const, title: q.title, queryId: q.id })),
  },
];
