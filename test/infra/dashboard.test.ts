/**
 * The on-call dashboard as each stage's plan renders it (issue #15 §4): the page and SLO tiers and every alarm's
 * state at the top, each SLO's budget, rates drawn with the thresholds their alarms use, per-route metrics where
 * detailed metrics exist, account concurrency, DynamoDB latency and index throttles, refusals.
 */
import { describe, expect, it } from 'vitest';
import { SLOS } from '../../dashboards/slos.ts';
import { ROUTES } from '../../functions/catalog/functions.ts';
import { TABLES, type TableSchema } from '../../functions/catalog/tables.ts';
import { STAGES, type StageConfig } from '../../infra/config/stages.ts';
import { readPlan, type Plan } from '../support/plan.ts';

type Row = (string | Record<string, unknown>)[];
interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title?: string;
    markdown?: string;
    alarms?: string[];
    metrics?: Row[];
    view?: string;
    start?: string;
    setPeriodToTimeRange?: boolean;
    sortBy?: string;
    annotations?: { horizontal: { label: string; value: number }[] };
  };
}

const STACKS = [
  { stage: 'dev', plan: readPlan('wschat-dev') },
  { stage: 'prod', plan: readPlan('wschat-prod') },
] as const;

function widgetsOf(plan: Plan): Widget[] {
  const [dashboard] = Object.values(plan.resource.aws_cloudwatch_dashboard ?? {});
  return (JSON.parse(String(dashboard?.dashboard_body)) as { widgets: Widget[] }).widgets;
}

const titled = (widgets: Widget[], title: string | RegExp) => widgets.filter((w) => (typeof title === 'string' ? w.properties.title === title : title.test(w.properties.title ?? '')));
const options = (row: Row) => row[row.length - 1] as Record<string, unknown>;
const dimensionNames = (row: Row) => row.filter((x): x is string => typeof x === 'string').slice(2).filter((_, i) => i % 2 === 0);

describe.each(STACKS)('$stage dashboard', ({ stage, plan }) => {
  const widgets = widgetsOf(plan);
  const config = STAGES[stage] as StageConfig;
  const metricAlarms = plan.resource.aws_cloudwatch_metric_alarm ?? {};
  const composites = plan.resource.aws_cloudwatch_composite_alarm ?? {};
  const compositeRef = (pred: (a: Record<string, unknown>) => boolean) =>
    Object.entries(composites)
      .filter(([, a]) => pred(a))
      .map(([name]) => `\${aws_cloudwatch_composite_alarm.${name}.arn}`);

  it('opens on the canary, the page and the SLO tiers, then the error budgets and burn rates, then every alarm, ALARM first', () => {
    const health = widgets.slice(0, widgets.findIndex((w, i) => i > 0 && w.properties.markdown?.startsWith('## ')));
    expect(health.map((w) => w.type)).toEqual(['text', 'metric', 'metric', 'text', 'alarm', ...SLOS.map(() => 'metric'), ...SLOS.map(() => 'metric'), ...health.filter((w) => w.properties.title?.startsWith('Every alarm')).map(() => 'alarm')]);
    // The top row (issue #15 §1 and §4): whether a user can chat right now, then how long each step takes.
    expect(health.slice(1, 3).map((w) => w.properties.title)).toEqual(['Canary success (1 = every step worked)', 'Canary latency by step (ms)']);
    const [, , , , page] = health;
    expect(page?.properties.alarms?.[0]).toBe(compositeRef((a) => (a.tags as Record<string, string>).severity === 'page' && !(a.tags as Record<string, string>).slo)[0]);
    expect(new Set(page?.properties.alarms?.slice(1))).toEqual(new Set(compositeRef((a) => Boolean((a.tags as Record<string, string>).slo))));
    const every = titled(widgets, /^Every alarm/).flatMap((w) => w.properties.alarms ?? []);
    expect(new Set(every)).toEqual(new Set(Object.keys(metricAlarms).map((name) => `\${aws_cloudwatch_metric_alarm.${name}.arn}`)));
    for (const w of widgets.filter((x) => x.type === 'alarm')) {
      expect(w.properties.sortBy).toBe('stateUpdatedTimestamp');
      expect(w.properties.alarms?.length).toBeLessThanOrEqual(100);
    }
  });

  it("shows each SLO's error budget left over 30 days as one number, from the stage's target", () => {
    for (const slo of SLOS) {
      const [budget] = titled(widgets, `${slo.id}: error budget left of 30 days (target ${config.observability.sloTargets[slo.id]}%)`);
      expect(budget?.properties).toMatchObject({ view: 'singleValue', start: '-P30D', setPeriodToTimeRange: true });
      const expression = budget?.properties.metrics?.map(options).find((o) => o.expression);
      expect(String(expression?.expression)).toContain(`/ ${Math.round((100 - config.observability.sloTargets[slo.id]) * 1e6) / 1e8}`);
      // The inputs are not drawn; only the budget is.
      expect(budget?.properties.metrics?.filter((r) => typeof r[0] === 'string').every((r) => options(r).visible === false)).toBe(true);
    }
  });

  it('draws every rate with the threshold its alarm compares with, from the same plan', () => {
    const thresholdOf = (id: string) => new Set(Object.values(metricAlarms).filter((a) => (a.tags as Record<string, string>).alarm === id).map((a) => a.threshold));
    const rates = titled(widgets, /^(Error rates \(%\)|Error rate \(%\)|Delivery failure rate \(%\))$/);
    // The API's, the delivery failures' and one per function the lambda-errors alarm watches.
    const lambdaErrorInstances = Object.values(metricAlarms).filter((a) => (a.tags as Record<string, string>).alarm === 'lambda-errors').length;
    expect(rates.length).toBe(2 + lambdaErrorInstances);
    for (const w of rates) {
      const lines = w.properties.annotations?.horizontal ?? [];
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const id = line.label.split(':')[0] as string;
        expect([...thresholdOf(id)], line.label).toEqual([line.value]);
      }
      // Each drawn rate is the alarm's own expression: the stage's traffic floor included.
      for (const o of (w.properties.metrics ?? []).map(options).filter((x) => x.expression)) {
        expect(String(o.expression)).toMatch(new RegExp(`^IF\\(\\(.+\\) >= ${config.observability.rateAlarmMinRequests}, 100 \\* FILL\\(r\\d+m1, 0\\) / \\(.+\\), 0\\)$`));
      }
    }
  });

  it('has per-route latency and errors under the Route dimension only where detailed metrics are on', () => {
    const byRoute = titled(widgets, /by route/).filter((w) => w.type === 'metric');
    if (!config.detailedMetrics) return void expect(byRoute).toEqual([]);
    expect(byRoute.map((w) => w.properties.title)).toEqual(['Integration latency p99 by route (ms)', 'Integration errors by route', 'Client errors by route']);
    for (const w of byRoute) {
      const routes = (w.properties.metrics ?? []).map((r) => r[r.indexOf('Route') + 1]);
      expect(routes).toEqual(ROUTES.map((r) => r.routeKey));
      for (const row of w.properties.metrics ?? []) expect(dimensionNames(row)).toEqual(['ApiId', 'Stage', 'Route']);
    }
  });

  it("draws account concurrency against the alarm's threshold and the stage's quota", () => {
    const [account] = titled(widgets, 'Account concurrency');
    const quota = config.observability.lambdaConcurrencyQuota;
    expect(account?.properties.annotations?.horizontal.map((a) => a.value)).toEqual([Math.round(0.9 * quota), quota]);
    expect(account?.properties.metrics?.map((r) => `${r[1]} ${dimensionNames(r).length}`)).toEqual(['ClaimedAccountConcurrency 0', 'ConcurrentExecutions 0']);
  });

  it('shows DynamoDB latency per operation, throttles per index, and refusals', () => {
    const latency = titled(widgets, 'Latency by operation (ms)');
    expect(latency.length).toBe(Object.keys(TABLES).length);
    for (const w of latency) for (const row of w.properties.metrics ?? []) expect(dimensionNames(row)).toEqual(['TableName', 'Operation']);
    const throttles = titled(widgets, 'Throttles (table and each index) and errors');
    const indexes = (Object.values(TABLES) as TableSchema[]).flatMap((t) => (t.indexes ?? []).map((i) => i.name));
    expect(indexes.length).toBeGreaterThan(0);
    const drawnIndexes = throttles.flatMap((w) => (w.properties.metrics ?? []).flatMap((r) => (r.includes('GlobalSecondaryIndexName') ? [r[r.indexOf('GlobalSecondaryIndexName') + 1]] : [])));
    for (const index of indexes) expect(drawnIndexes).toContain(index);
    const [refusals] = titled(widgets, 'Rate limited and invalid requests');
    expect(refusals?.properties.metrics?.map((r) => r[1])).toEqual(expect.arrayContaining(['RateLimited', 'RouteRateLimited', 'MessageValidationFailed']));
  });

  it('lays widgets on the grid without overlaps', () => {
    const cells = new Set<string>();
    for (const w of widgets) {
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`), `${w.properties.title ?? w.properties.markdown} at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });
});
