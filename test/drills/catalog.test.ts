/** Every alarm of the catalog has a runbook, a place on the dashboard and a drill (or a stated reason). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALARMS, runbookPath } from '../../dashboards/alarms.ts';
import { RUNBOOK_BASE_URL_VARIABLE } from '../../infra/config/variables.ts';
import { readPlan, resourcesOf } from '../support/plan.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
// The drill files' lists, read as text so this test does not register their suites.
const drilled = ['api', 'lambda', 'dependencies'].flatMap((file) => {
  const source = readFileSync(path.join(import.meta.dirname, `${file}.test.ts`), 'utf8');
  return [...source.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1] as string).filter((id) => ALARMS.some((a) => a.id === id));
});

describe.each(ALARMS.map((a) => [a.id, a] as const))('%s', (id, alarm) => {
  it('has a runbook with the sections an on-call engineer needs', () => {
    const file = path.join(root, runbookPath(id));
    expect(existsSync(file), file).toBe(true);
    const text = readFileSync(file, 'utf8');
    for (const heading of ['## What it means', '## First three checks', '## Likely causes', '## Mitigation', '## Drill']) {
      expect(text, `${id}: ${heading}`).toContain(heading);
    }
  });

  it('is drilled by exactly one drill test, or states why it cannot be', () => {
    if ('fault' in alarm.drill) expect(drilled.filter((d) => d === id)).toHaveLength(1);
    else expect(alarm.drill.notDrillable.length).toBeGreaterThan(20);
  });

  it('is deployed with a description that starts with what broke and links its runbook', () => {
    const base = (readPlan('wschat-dev').variable as Record<string, { default?: string }>)[RUNBOOK_BASE_URL_VARIABLE];
    expect(base?.default).toMatch(/^https:\/\/\S+[^/]$/);
    const alarms = resourcesOf(readPlan('wschat-dev'), 'aws_cloudwatch_metric_alarm').filter((a) => (a.tags as Record<string, string>).alarm === id);
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(String(a.alarm_description).startsWith(alarm.whatBroke)).toBe(true);
      // The link base is a variable (a fork or a wiki mirror sets its own); its default is an https URL.
      expect(String(a.alarm_description).endsWith(`Runbook: \${var.${RUNBOOK_BASE_URL_VARIABLE}}/${runbookPath(id)}`)).toBe(true);
    }
  });

  it('has a place on the dashboard (the alarm status widget lists it)', () => {
    const dashboard = resourcesOf(readPlan('wschat-dev'), 'aws_cloudwatch_dashboard')[0] as { dashboard_body: string };
    const body = JSON.parse(dashboard.dashboard_body) as { widgets: { type: string; properties: { alarms?: string[] } }[] };
    const listed = body.widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms ?? []);
    const deployed = Object.entries(readPlan('wschat-dev').resource.aws_cloudwatch_metric_alarm ?? {}).filter(([, a]) => (a.tags as Record<string, string>).alarm === id);
    for (const [name] of deployed) expect(listed).toContain(`\${aws_cloudwatch_metric_alarm.${name}.arn}`);
  });
});
