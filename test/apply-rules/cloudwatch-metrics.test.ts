/**
 * CloudWatch accepts an alarm or a graph on any namespace, metric and dimensions, published or not; one that
 * matches no series never fires and draws nothing. Each namespace's data file lists the metrics the service
 * publishes and under which dimension sets (from its metric documentation); WsChat is our own EMF catalog.
 */
import { describe, expect, it } from 'vitest';
import { CANARY_METRICS, CUSTOM_METRICS, METRICS_NAMESPACE } from '../../dashboards/metrics.ts';
import { named, readPlan, ruleData, synthesizedStacks, type Plan } from './support.ts';

interface NamespaceData {
  namespace: string;
  metrics: Record<string, string[][]>;
}

const FILES = ['apigateway-websocket', 'lambda', 'dynamodb', 'sqs', 'sns', 'synthetics', 'cognito', 'acm'];
const PUBLISHED = new Map<string, Record<string, string[][]>>(
  FILES.map((f) => ruleData<NamespaceData>(`metrics/${f}.json`)).map((d) => [d.namespace, d.metrics]),
);
// Powertools publishes every business metric, the canary's too, under the service and stage dimensions (functions/runtime/observability.ts).
PUBLISHED.set(METRICS_NAMESPACE, Object.fromEntries([...Object.keys(CUSTOM_METRICS), ...Object.keys(CANARY_METRICS)].map((m) => [m, [['service', 'stage']]])));

export interface MetricUse {
  readonly where: string;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly string[];
}

/** Why a metric use matches nothing the service publishes, or undefined when it does. */
export function unpublished(use: MetricUse): string | undefined {
  const metrics = PUBLISHED.get(use.namespace);
  if (!metrics) return `${use.where}: namespace ${use.namespace} has no data file (add one from the service's metric docs)`;
  const sets = metrics[use.name];
  if (!sets) return `${use.where}: ${use.namespace} publishes no metric ${use.name}`;
  const wanted = [...use.dimensions].sort().join(',');
  if (sets.some((set) => [...set].sort().join(',') === wanted)) return undefined;
  return `${use.where}: ${use.namespace} ${use.name} is published under ${sets.map((s) => `[${s.join(', ')}]`).join(' or ')}, not [${use.dimensions.join(', ')}]`;
}

/** Every metric the plan's alarms and dashboard widgets read, with the dimension names they read it under. */
export function metricUses(plan: Plan): MetricUse[] {
  const uses: MetricUse[] = [];
  for (const [name, alarm] of named(plan, 'aws_cloudwatch_metric_alarm')) {
    if (alarm.metric_name) {
      uses.push({ where: name, namespace: String(alarm.namespace), name: String(alarm.metric_name), dimensions: Object.keys((alarm.dimensions ?? {}) as object) });
    }
    for (const query of (alarm.metric_query ?? []) as { id: string; metric?: { namespace: string; metric_name: string; dimensions?: object } }[]) {
      if (query.metric) uses.push({ where: `${name} ${query.id}`, namespace: query.metric.namespace, name: query.metric.metric_name, dimensions: Object.keys(query.metric.dimensions ?? {}) });
    }
  }
  for (const [name, dashboard] of named(plan, 'aws_cloudwatch_dashboard')) {
    const body = JSON.parse(String(dashboard.dashboard_body)) as { widgets: { type: string; properties: { metrics?: unknown[][] } }[] };
    body.widgets.forEach((widget, i) => {
      for (const row of widget.properties.metrics ?? []) {
        // A metric-math row ([{ expression, id }]) reads the widget's other rows, not a series of its own.
        if (typeof row[0] !== 'string') continue;
        const fields = row.filter((f) => typeof f === 'string') as string[];
        const [namespace, metric, ...dims] = fields;
        uses.push({ where: `${name} widget ${i}`, namespace: namespace as string, name: metric as string, dimensions: dims.filter((_, j) => j % 2 === 0) });
      }
    });
  }
  return uses;
}

describe('alarm and widget metrics', () => {
  it('catches SystemErrors per TableName alone, a misspelt metric and a namespace without data', () => {
    expect(unpublished({ where: 'a', namespace: 'AWS/DynamoDB', name: 'SystemErrors', dimensions: ['TableName'] })).toMatch(/published under \[TableName, Operation\]/);
    expect(unpublished({ where: 'b', namespace: 'AWS/Lambda', name: 'Error', dimensions: ['FunctionName'] })).toMatch(/publishes no metric Error/);
    expect(unpublished({ where: 'c', namespace: 'AWS/Kinesis', name: 'GetRecords.Bytes', dimensions: [] })).toMatch(/has no data file/);
    expect(unpublished({ where: 'd', namespace: 'AWS/DynamoDB', name: 'ReadThrottleEvents', dimensions: ['GlobalSecondaryIndexName', 'TableName'] })).toBeUndefined();
    expect(unpublished({ where: 'e', namespace: 'AWS/Lambda', name: 'Errors', dimensions: ['FunctionName', 'Resource'] })).toBeUndefined();
  });

  describe.each(synthesizedStacks())('%s', (stack) => {
    const plan = readPlan(stack);

    it('reads only series the services publish, under dimension sets they publish them with', () => {
      const uses = metricUses(plan);
      expect(uses.length).toBeGreaterThan(50);
      expect(uses.map(unpublished).filter(Boolean)).toEqual([]);
    });

    it('watches throttling on every global secondary index and system errors per operation', () => {
      const uses = metricUses(plan).filter((u) => u.where.startsWith('observability_') && !u.where.includes('dashboard'));
      expect(uses.some((u) => u.name === 'ReadThrottleEvents' && u.dimensions.includes('GlobalSecondaryIndexName'))).toBe(true);
      expect(uses.filter((u) => u.name === 'SystemErrors').every((u) => u.dimensions.includes('Operation'))).toBe(true);
    });
  });
});
