/**
 * The on-call dashboard as a typed definition, read top-down by someone paged at 3 am: health first, then the
 * API, each function, DynamoDB, business metrics and logs. Infra renders it into a CloudWatch dashboard body;
 * the local stack renders the synthesized body with live local data.
 */
import { ALARMS, type AlarmScope, type MetricRef } from './alarms.ts';
import { CUSTOM_METRICS, METRICS_NAMESPACE, type CustomMetricName } from './metrics.ts';
import { QUERIES } from './queries.ts';

export interface Series {
  readonly metric: MetricRef;
  readonly label: string;
}

export type Widget =
  | { readonly type: 'text'; readonly markdown: string }
  | { readonly type: 'alarms'; readonly title: string }
  | { readonly type: 'metric'; readonly title: string; readonly scope: AlarmScope; readonly series: readonly Series[] }
  | { readonly type: 'logs'; readonly title: string; readonly queryId: (typeof QUERIES)[number]['id'] };

export interface Section {
  readonly title: string;
  /** Repeat the section for every function or table of the stack. */
  readonly each?: 'function' | 'table';
  readonly widgets: readonly Widget[];
}

const api = (name: string, stat: MetricRef['stat'] = 'Sum'): Series => ({ metric: { namespace: 'AWS/ApiGateway', name, stat }, label: `${name} (${stat})` });
const lambda = (name: string, stat: MetricRef['stat'] = 'Sum'): Series => ({ metric: { namespace: 'AWS/Lambda', name, stat }, label: `${name} (${stat})` });
const table = (name: string, across?: MetricRef['across']): Series => ({ metric: { namespace: 'AWS/DynamoDB', name, stat: 'Sum', ...(across ? { across } : {}) }, label: name });
const queue = (name: string, stat: MetricRef['stat']): Series => ({ metric: { namespace: 'AWS/SQS', name, stat }, label: `${name} (${stat})` });
const business = (name: CustomMetricName, stat: MetricRef['stat'] = 'Sum'): Series => ({
  metric: { namespace: METRICS_NAMESPACE, name, stat },
  label: `${name}${CUSTOM_METRICS[name].unit === 'Milliseconds' ? ` ${stat} (ms)` : ''}`,
});

export const DASHBOARD: readonly Section[] = [
  {
    title: 'Health',
    widgets: [
      {
        type: 'text',
        markdown: `# wschat on-call\nAlarms in red first. Each alarm's description links its runbook. Page alarms (${ALARMS.filter((a) => a.severity === 'page').length}) roll up into one composite page.`,
      },
      { type: 'alarms', title: 'Alarm status' },
    ],
  },
  {
    title: 'WebSocket API',
    widgets: [
      { type: 'metric', title: 'Connections and messages', scope: 'api', series: [api('ConnectCount'), api('MessageCount')] },
      { type: 'metric', title: 'Errors', scope: 'api', series: [api('IntegrationError'), api('ExecutionError'), api('ClientError')] },
      { type: 'metric', title: 'Integration latency (ms)', scope: 'api', series: [api('IntegrationLatency', 'p50'), api('IntegrationLatency', 'p99')] },
    ],
  },
  {
    title: 'Function',
    each: 'function',
    widgets: [
      { type: 'metric', title: 'Invocations and errors', scope: 'function', series: [lambda('Invocations'), lambda('Errors'), lambda('Throttles')] },
      { type: 'metric', title: 'Duration (ms)', scope: 'function', series: [lambda('Duration', 'p50'), lambda('Duration', 'p90'), lambda('Duration', 'p99')] },
      { type: 'metric', title: 'Concurrency', scope: 'function', series: [lambda('ConcurrentExecutions', 'Maximum')] },
    ],
  },
  {
    title: 'DynamoDB',
    each: 'table',
    widgets: [
      { type: 'metric', title: 'Consumed capacity', scope: 'table', series: [table('ConsumedReadCapacityUnits'), table('ConsumedWriteCapacityUnits')] },
      { type: 'metric', title: 'Throttles and errors', scope: 'table', series: [table('ReadThrottleEvents', 'indexes'), table('WriteThrottleEvents', 'indexes'), table('SystemErrors', 'operations')] },
    ],
  },
  {
    title: 'Chat (business metrics)',
    widgets: [
      { type: 'metric', title: 'Connections', scope: 'service', series: [business('ConnectionsOpened'), business('ConnectionsClosed'), business('ConnectAuthFailed'), business('ConnectionsRefused')] },
      { type: 'metric', title: 'Messages', scope: 'service', series: [business('MessagesReceived'), business('MessagesDelivered'), business('DeliveryFailed'), business('IdempotentReplay')] },
      { type: 'metric', title: 'Fan-out', scope: 'service', series: [business('FanoutDuration', 'p99'), business('FanoutRecipients'), business('FanoutShards'), business('StaleConnectionsPruned')] },
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
