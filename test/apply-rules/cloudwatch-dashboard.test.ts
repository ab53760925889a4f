/** PutDashboard refuses a body that breaks CloudWatch's dashboard body structure (DashboardInvalidInputError). */
import { describe, expect, it } from 'vitest';
import { named, readPlan, ruleData, synthesizedStacks } from './support.ts';

const DOC = ruleData<{
  maxWidgets: number;
  maxMetricsPerGraph: number;
  grid: { columns: number; minWidth: number; maxWidth: number; minHeight: number; maxHeight: number };
  widgetTypes: Record<string, { required: string[]; views?: string[]; maxAlarms?: number; metricsRequireRegion?: boolean }>;
}>('cloudwatch-dashboard-body.json');

interface WidgetBody {
  type?: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  properties?: Record<string, unknown>;
}

/** What CloudWatch would refuse in a dashboard body. */
export function dashboardViolations(body: string): string[] {
  const { widgets } = JSON.parse(body) as { widgets?: WidgetBody[] };
  if (!Array.isArray(widgets)) return ['no widgets array'];
  const problems = widgets.length > DOC.maxWidgets ? [`${widgets.length} widgets, at most ${DOC.maxWidgets}`] : [];
  widgets.forEach((w, i) => {
    const at = `widget ${i} (${w.type})`;
    const spec = DOC.widgetTypes[w.type ?? ''];
    if (!spec) return void problems.push(`${at}: unknown type`);
    const { grid } = DOC;
    const width = w.width ?? 6;
    const height = w.height ?? 6;
    if (width < grid.minWidth || width > grid.maxWidth) problems.push(`${at}: width ${width}`);
    if (height < grid.minHeight || height > grid.maxHeight) problems.push(`${at}: height ${height}`);
    if (w.x !== undefined && (w.x < 0 || w.x + width > grid.columns)) problems.push(`${at}: x ${w.x} + width ${width} leaves the ${grid.columns}-column grid`);
    if (w.y !== undefined && w.y < 0) problems.push(`${at}: y ${w.y}`);
    const props = w.properties ?? {};
    for (const key of spec.required) if (props[key] === undefined) problems.push(`${at}: no properties.${key}`);
    if (spec.views && props.view !== undefined && !spec.views.includes(String(props.view))) problems.push(`${at}: view ${String(props.view)}`);
    if (spec.metricsRequireRegion && props.region === undefined) problems.push(`${at}: no properties.region`);
    if (Array.isArray(props.metrics) && props.metrics.length > DOC.maxMetricsPerGraph) problems.push(`${at}: ${props.metrics.length} metrics`);
    if (spec.maxAlarms && Array.isArray(props.alarms) && props.alarms.length > spec.maxAlarms) {
      problems.push(`${at}: ${props.alarms.length} alarms, at most ${spec.maxAlarms}`);
    }
  });
  return problems;
}

describe('dashboard body', () => {
  it('catches an unknown widget type, a widget off the grid, a missing property and an unknown view', () => {
    const broken = JSON.stringify({
      widgets: [
        { type: 'graph', properties: {} },
        { type: 'text', x: 20, y: 0, width: 8, height: 2, properties: { markdown: 'x' } },
        { type: 'log', x: 0, y: 0, width: 8, height: 6, properties: { region: 'us-east-1' } },
        { type: 'metric', x: 0, y: 0, width: 8, height: 6, properties: { region: 'us-east-1', view: 'lines', metrics: [] } },
      ],
    });
    expect(dashboardViolations(broken)).toEqual([
      'widget 0 (graph): unknown type',
      'widget 1 (text): x 20 + width 8 leaves the 24-column grid',
      'widget 2 (log): no properties.query',
      'widget 3 (metric): view lines',
    ]);
  });

  describe.each(synthesizedStacks())('%s', (stack) => {
    it('has dashboards whose body CloudWatch accepts', () => {
      const dashboards = named(readPlan(stack), 'aws_cloudwatch_dashboard');
      expect(dashboards.length).toBeGreaterThan(0);
      for (const [, dashboard] of dashboards) expect(dashboardViolations(String(dashboard.dashboard_body))).toEqual([]);
    });
  });
});
