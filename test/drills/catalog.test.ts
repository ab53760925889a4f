/** Every alarm of the catalog has a runbook, a place on the dashboard and a drill (or a stated reason). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALARMS, runbookPath } from '../../dashboards/alarms.ts';
import { BURN_RATE_TIERS, SLOS, sloAlarmId, sloRunbookId } from '../../dashboards/slos.ts';
import { STAGE_NAMES, stackName } from '../../infra/config/stages.ts';
import { RUNBOOK_BASE_URL_VARIABLE } from '../../infra/config/variables.ts';
import { drillableIds, drillRequirements, faultTrafficSize } from '../../local/drills.ts';
import { readPlan, resourcesOf } from '../support/plan.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const STACKS = STAGE_NAMES.map(stackName);
// The drill files' lists, read as text so this test does not register their suites.
const DRILL_FILES = readdirSync(import.meta.dirname).filter((file) => file.endsWith('.test.ts') && file !== path.basename(import.meta.filename));
const drilledIds = DRILL_FILES.flatMap((file) => {
  const source = readFileSync(path.join(import.meta.dirname, file), 'utf8');
  return [...source.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1] as string);
});
const drilled = drilledIds.filter((id) => ALARMS.some((a) => a.id === id));

/** Commands that only GNU tools accept: an on-call laptop is often macOS (BSD tools). */
const GNU_ONLY: readonly [RegExp, string][] = [
  [/\bdate\b[^\n|;]*\s(-d|--date)\b/, 'date -d (BSD date has -v/-j; compute epoch seconds with $(( $(date +%s) - N )))'],
  [/\bgrep\b[^\n|;]*\s-[a-zA-Z]*P/, 'grep -P'],
  [/\bsed\s+-i(\s|$)(?!'')/, "sed -i without a suffix (BSD sed needs -i '')"],
  [/\breadlink\s+-f\b/, 'readlink -f'],
  [/\bxargs\b[^\n|;]*\s-r\b/, 'xargs -r'],
  [/\bhead\s+-n\s+-\d/, 'head -n -N'],
  [/\bbase64\s+-w/, 'base64 -w'],
  [/\bstat\s+-c\b/, 'stat -c'],
];

/** The shell in a runbook's fenced code blocks and inline code. */
function commandsIn(markdown: string): string[] {
  return [...markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g), ...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
}

describe('drills whose traffic is the fault', () => {
  // At the drills' time scale a 300 s period is 5 s, with a tick of 500 ms.
  it.each(drillableIds().filter((d) => d.drill.startsWith('fault ')).map((d) => d.id))('%s: its alarm sizes the traffic its drill sends', (id) => {
    const sized = faultTrafficSize(id, 500, 5000);
    expect(sized.handshakesPerTick).toBeGreaterThanOrEqual(0);
    expect(sized.vanishingWave).toBeGreaterThanOrEqual(0);
  });

  it('sends count alarms twice their threshold a period, ratio alarms five handshakes for each healthy request', () => {
    expect(faultTrafficSize('auth-failures', 500, 5000).handshakesPerTick).toBe(20);
    expect(faultTrafficSize('connections-refused', 500, 5000).handshakesPerTick).toBe(10);
    expect(faultTrafficSize('api-client-errors', 500, 5000).handshakesPerTick).toBe(5);
    expect(faultTrafficSize('stale-connections', 500, 5000)).toEqual({ handshakesPerTick: 0, vanishingWave: 60 });
    expect(faultTrafficSize('lambda-errors', 500, 5000)).toEqual({ handshakesPerTick: 0, vanishingWave: 0 });
  });
});

describe('drills that need the stack\'s schedules', () => {
  it('are the ones whose alarm is fed by a scheduled function, at a time scale a run fits in', () => {
    for (const alarm of ALARMS.filter((a) => 'fault' in a.drill)) {
      expect(drillRequirements(alarm.id), alarm.id).toEqual(alarm.scheduledFunction ? { maxTimeScale: 10 } : undefined);
    }
    expect(ALARMS.filter((a) => a.scheduledFunction).map((a) => a.id)).toEqual(['canary-failing']);
  });
});

describe('runbooks', () => {
  const files = readdirSync(path.join(root, 'dashboards', 'runbooks')).filter((f) => f.endsWith('.md'));

  it.each(files)('%s uses no GNU-only command flags', (file) => {
    const commands = commandsIn(readFileSync(path.join(root, 'dashboards', 'runbooks', file), 'utf8'));
    const found = commands.flatMap((c) => GNU_ONLY.filter(([pattern]) => pattern.test(c)).map(([, what]) => `${what}: ${c.trim().slice(0, 80)}`));
    expect(found).toEqual([]);
  });

  it('recognises the GNU-only forms it forbids (positive control)', () => {
    for (const command of ["date -u -d '-1 hour' +%s", 'grep -oP "x"', 'sed -i s/a/b/ f', 'readlink -f x', 'xargs -r rm', 'head -n -1 f', 'base64 -w0 f', 'stat -c %s f']) {
      expect(GNU_ONLY.some(([pattern]) => pattern.test(command)), command).toBe(true);
    }
    expect(GNU_ONLY.some(([pattern]) => pattern.test("sed -i '' s/a/b/ f; date +%s"))).toBe(false);
  });

  it('lists every alarm of the catalog in the README, with its severity', () => {
    const readme = readFileSync(path.join(root, 'dashboards', 'runbooks', 'README.md'), 'utf8');
    for (const alarm of ALARMS) expect(readme, alarm.id).toContain(`| [${alarm.id}](${alarm.id}.md) | ${alarm.severity} |`);
  });
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
    // Every stage's plan: some alarms exist only where their resource does (the certificate, in prod).
    const alarms = STACKS.flatMap((stack) => resourcesOf(readPlan(stack), 'aws_cloudwatch_metric_alarm')).filter((a) => (a.tags as Record<string, string>).alarm === id);
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(String(a.alarm_description).startsWith(alarm.whatBroke)).toBe(true);
      // The link base is a variable (a fork or a wiki mirror sets its own); its default is an https URL.
      expect(String(a.alarm_description).endsWith(`Runbook: \${var.${RUNBOOK_BASE_URL_VARIABLE}}/${runbookPath(id)}`)).toBe(true);
    }
  });

  it('has a place on the dashboard (the alarm status widget lists it)', () => {
    const deployed = STACKS.flatMap((stack) => {
      const dashboard = resourcesOf(readPlan(stack), 'aws_cloudwatch_dashboard')[0] as { dashboard_body: string };
      const body = JSON.parse(dashboard.dashboard_body) as { widgets: { type: string; properties: { alarms?: string[] } }[] };
      const listed = body.widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms ?? []);
      return Object.entries(readPlan(stack).resource.aws_cloudwatch_metric_alarm ?? {})
        .filter(([, a]) => (a.tags as Record<string, string>).alarm === id)
        .map(([name]) => ({ name, listed }));
    });
    expect(deployed.length).toBeGreaterThan(0);
    for (const { name, listed } of deployed) expect(listed).toContain(`\${aws_cloudwatch_metric_alarm.${name}.arn}`);
  });
});

describe.each(SLOS.map((s) => [s.id, s] as const))('SLO %s', (id, slo) => {
  it('has a runbook with the sections an on-call engineer needs, listed in the README', () => {
    const file = path.join(root, runbookPath(sloRunbookId(id)));
    expect(existsSync(file), file).toBe(true);
    const text = readFileSync(file, 'utf8');
    for (const heading of ['## What it means', '## First three checks', '## Likely causes', '## Mitigation', '## Drill']) expect(text, heading).toContain(heading);
    const readme = readFileSync(path.join(root, 'dashboards', 'runbooks', 'README.md'), 'utf8');
    expect(readme).toContain(`| [${sloRunbookId(id)}](${sloRunbookId(id)}.md) |`);
  });

  it.each(BURN_RATE_TIERS.map((t) => [t.id, t] as const))('%s tier is drilled by exactly one drill test, or states why it cannot be', (_, tier) => {
    const reason = 'notDrillable' in slo.drill ? slo.drill.notDrillable : tier.notDrillable;
    const times = drilledIds.filter((d) => d === sloAlarmId(id, tier.id)).length;
    if (reason) {
      expect(reason.length).toBeGreaterThan(20);
      expect(times).toBe(0);
    } else {
      expect(times).toBe(1);
    }
  });
});
