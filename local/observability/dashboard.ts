/**
 * `/_dashboard`: the synthesized CloudWatch dashboard body rendered with live local data, the plan's alarms
 * with their local state, searchable logs and a trace waterfall per invocation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StackPlan } from '../plan.ts';
import type { AlarmEvaluator } from './alarm-evaluator.ts';
import type { LogStore } from './log-store.ts';
import { evaluateExpression } from './expression.ts';
import { runQuery } from './logs-insights.ts';
import type { MetricStore } from './metric-store.ts';
import type { LocalSns } from '../sns.ts';
import type { XrayCollector } from './xray.ts';

/** A metric row's rendering options: its id in the widget's metric math, whether it is drawn, or its expression. */
interface RowOptions {
  id?: string;
  stat?: string;
  label?: string;
  visible?: boolean;
  expression?: string;
}

/** `[namespace, name, dimension, value, …, options?]`, or `[{ expression, id, label }]`. */
type MetricRow = (string | RowOptions)[];

interface CloudWatchWidget {
  type: 'text' | 'metric' | 'alarm' | 'log';
  properties: {
    title?: string;
    markdown?: string;
    metrics?: MetricRow[];
    alarms?: string[];
    period?: number;
    query?: string;
    view?: string;
    start?: string;
    setPeriodToTimeRange?: boolean;
    annotations?: { horizontal?: { label?: string; value: number }[] };
  };
}

export interface DashboardSources {
  readonly plan: StackPlan;
  readonly metrics: MetricStore;
  readonly alarms: AlarmEvaluator;
  readonly logs: LogStore;
  readonly traces: XrayCollector;
  readonly sns: LocalSns;
  readonly timeScale: number;
}

const PERIODS_SHOWN = 30;
const NOTIFICATIONS_SHOWN = 20;
const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot'));
const PAGE = readFileSync(new URL('./dashboard-page.html', import.meta.url), 'utf8');

function widgetsOf(plan: StackPlan): { name: string; widgets: CloudWatchWidget[] } {
  const dashboard = plan.only('aws_cloudwatch_dashboard');
  const body = JSON.parse(plan.resolve(String(dashboard.config.dashboard_body))) as { widgets: CloudWatchWidget[] };
  return { name: plan.resolve(String(dashboard.config.dashboard_name)), widgets: body.widgets };
}

const SOURCE_CLAUSE = /^\s*SOURCE\s+'([^']+)'\s*\|/;
/** Rows a log widget shows, as CloudWatch's log widget shows its first page. */
const LOG_WIDGET_ROWS = 50;

/**
 * A log widget's query (`SOURCE 'group' | … | query`, the dashboard body's form) run on the local logs of its
 * groups; what the evaluator cannot run is shown as the widget's error instead of an empty table.
 */
export function logWidget(query: string, logs: LogStore): { columns: readonly string[]; rows: readonly Record<string, string>[] } | { error: string } {
  const groups: string[] = [];
  let rest = query;
  let source: RegExpExecArray | null;
  while ((source = SOURCE_CLAUSE.exec(rest))) {
    groups.push(source[1] as string);
    rest = rest.slice(source[0].length);
  }
  if (!groups.length) return { error: "a log widget's query starts with SOURCE 'log-group' |" };
  try {
    const result = runQuery(rest, logs.logEvents(groups));
    return { columns: result.columns, rows: result.rows.slice(0, LOG_WIDGET_ROWS) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** `-P30D`, `-PT3H`: a widget's relative start as milliseconds back from now. */
function relativeStartMs(start: string): number {
  const match = /^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(start);
  if (!match) throw new Error(`widget start "${start}" is not a relative ISO 8601 duration the local dashboard reads`);
  const [, days, hours, minutes] = match.map((x) => Number(x ?? 0));
  return (((days as number) * 24 + (hours as number)) * 60 + (minutes as number)) * 60_000;
}

/** Alarm status widgets sort by state as CloudWatch's `stateUpdatedTimestamp`: ALARM, INSUFFICIENT_DATA, OK, each most recent first. */
const STATE_ORDER: Readonly<Record<string, number>> = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };

/**
 * A metric widget's series with one value per (scaled) period, or one value over the widget's whole range for a
 * single-value widget: metric rows read from the store, expression rows computed from the rows they name, rows
 * marked `visible: false` left out, and the widget's horizontal annotations.
 */
function metricWidget(w: CloudWatchWidget, sources: DashboardSources, now: number) {
  const single = w.properties.view === 'singleValue' && w.properties.setPeriodToTimeRange === true;
  // A single value covers the widget's range, as far back as the local store keeps datapoints.
  const periodMs = single && w.properties.start ? relativeStartMs(w.properties.start) / sources.timeScale : ((w.properties.period ?? 60) * 1000) / sources.timeScale;
  const periods = single ? 1 : PERIODS_SHOWN;
  const values: Record<string, (number | undefined)[]> = {};
  const shown: { label: string; values: (number | undefined)[] }[] = [];
  const rows = w.properties.metrics ?? [];
  rows.forEach((row, i) => {
    const options = (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as RowOptions;
    const id = options.id ?? `m${i + 1}`;
    if (options.expression === undefined) {
      const [namespace, metric, ...rest] = row.filter((x): x is string => typeof x === 'string');
      const dimensions: Record<string, string> = {};
      for (let d = 0; d + 1 < rest.length; d += 2) dimensions[rest[d] as string] = rest[d + 1] as string;
      const stat = options.stat ?? 'Average';
      values[id] = sources.metrics.history({ namespace: namespace as string, name: metric as string, dimensions }, stat, periodMs, periods, now);
      if (options.visible !== false) shown.push({ label: options.label ?? `${metric} (${stat})`, values: values[id] });
    }
  });
  // Expressions after every metric row they may name, in the widget's order.
  for (const row of rows) {
    const options = row[0] as RowOptions;
    if (typeof options !== 'object' || options.expression === undefined) continue;
    const expression = options.expression;
    const computed = Array.from({ length: periods }, (_, p) => evaluateExpression(expression, Object.fromEntries(Object.entries(values).map(([id, v]) => [id, v[p]]))));
    if (options.id) values[options.id] = computed;
    if (options.visible !== false) shown.push({ label: options.label ?? expression, values: computed });
  }
  return {
    type: 'metric',
    view: single ? 'singleValue' : 'timeSeries',
    title: w.properties.title,
    periodMs,
    series: shown,
    annotations: (w.properties.annotations?.horizontal ?? []).map((a) => ({ label: a.label ?? String(a.value), value: a.value })),
  };
}

/** The dashboard's widgets with their data: one value per (scaled) period for every metric series. */
export function dashboardState(sources: DashboardSources, now = Date.now()) {
  const { name, widgets } = widgetsOf(sources.plan);
  const alarmName = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
  return {
    name,
    timeScale: sources.timeScale,
    now,
    /** Whom the alarm topics reach, and the latest notifications SNS sent (newest first). */
    paging: { targets: sources.sns.targets(), notifications: sources.sns.deliveries.slice(-NOTIFICATIONS_SHOWN).reverse() },
    widgets: widgets.map((w) => {
      if (w.type === 'metric') return metricWidget(w, sources, now);
      if (w.type === 'alarm') {
        const alarms = (w.properties.alarms ?? []).flatMap((arn) => {
          const status = sources.alarms.statuses.get(alarmName(arn));
          return status ? [status] : [];
        });
        alarms.sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) || b.since - a.since);
        return { type: 'alarm', title: w.properties.title, alarms };
      }
      if (w.type === 'log') {
        const query = w.properties.query ?? '';
        return { type: 'log', title: w.properties.title, query, ...logWidget(query, sources.logs) };
      }
      return { type: 'text', markdown: w.properties.markdown };
    }),
  };
}

export function dashboardHandler(sources: DashboardSources) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/_dashboard')) return false;
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const route = url.pathname.slice('/_dashboard'.length) || '/';
    if (route === '/' ) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE), true;
    if (route === '/uplot.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(path.join(uplotDir, 'uPlot.iife.min.js'))), true;
    if (route === '/uplot.css') return void res.writeHead(200, { 'content-type': 'text/css' }).end(readFileSync(path.join(uplotDir, 'uPlot.min.css'))), true;
    if (route === '/api/state') return void json(dashboardState(sources)), true;
    if (route === '/api/logs') return void json(sources.logs.search(url.searchParams.get('q') ?? '')), true;
    if (route === '/api/traces') return void json(sources.traces.list()), true;
    if (route.startsWith('/api/traces/')) return void json(sources.traces.waterfall(decodeURIComponent(route.slice('/api/traces/'.length)))), true;
    res.writeHead(404).end();
    return true;
  };
}
