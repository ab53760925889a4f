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
import { runQuery } from './logs-insights.ts';
import type { MetricStore } from './metric-store.ts';
import type { LocalSns } from '../sns.ts';
import type { XrayCollector } from './xray.ts';

type MetricRow = (string | { stat?: string; label?: string })[];

interface CloudWatchWidget {
  type: 'text' | 'metric' | 'alarm' | 'log';
  properties: { title?: string; markdown?: string; metrics?: MetricRow[]; alarms?: string[]; period?: number; query?: string };
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
      if (w.type === 'metric') {
        const periodMs = ((w.properties.period ?? 60) * 1000) / sources.timeScale;
        return {
          type: 'metric',
          title: w.properties.title,
          periodMs,
          series: (w.properties.metrics ?? []).map((row) => {
            const options = (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as { stat?: string; label?: string };
            const [namespace, metric, ...rest] = row.filter((x): x is string => typeof x === 'string');
            const dimensions: Record<string, string> = {};
            for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
            const stat = options.stat ?? 'Average';
            return {
              label: options.label ?? `${metric} (${stat})`,
              values: sources.metrics.history({ namespace: namespace as string, name: metric as string, dimensions }, stat, periodMs, PERIODS_SHOWN, now),
            };
          }),
        };
      }
      if (w.type === 'alarm') {
        return {
          type: 'alarm',
          title: w.properties.title,
          alarms: [...(w.properties.alarms ?? []).map(alarmName), ...[...sources.alarms.statuses.values()].filter((s) => s.kind === 'composite').map((s) => s.name)].map(
            (n) => sources.alarms.statuses.get(n),
          ),
        };
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
