/**
 * The SLO catalog rendered into each stage's plan: multi-window, multi-burn-rate alarms (SRE workbook ch. 5),
 * page tiers in the page composite, the ticket tier on the ticket topic, each stage's own target, and burn-rate
 * expressions that compute what they claim (evaluated with the local metric-math evaluator).
 */
import { describe, expect, it } from 'vitest';
import { BURN_RATE_TIERS, burnRate, SLOS, type SloDefinition } from '../../dashboards/slos.ts';
import { StageConfigError, STAGES, validateStages, type StageConfig } from '../../infra/config/stages.ts';
import { evaluateExpression } from '../../local/observability/expression.ts';
import { readPlan, type Plan } from '../support/plan.ts';

type Query = { id: string; expression?: string; return_data?: boolean; metric?: { metric_name: string; stat: string; period: number; dimensions: Record<string, string> } };
type Alarm = Record<string, unknown> & { tags?: Record<string, string>; alarm_name: string };

const STACKS = [
  { stage: 'dev', plan: readPlan('wschat-dev') },
  { stage: 'prod', plan: readPlan('wschat-prod') },
] as const;

const alarmsOf = (plan: Plan, type: string) => Object.entries(plan.resource[type] ?? {}) as [string, Alarm][];

/** The metric alarms of one window of a tier, and the tier's composite. */
function tierOf(plan: Plan, slo: SloDefinition, tier: string) {
  const windows = alarmsOf(plan, 'aws_cloudwatch_metric_alarm').filter(([, a]) => a.tags?.slo === slo.id && a.tags.tier === tier);
  const composites = alarmsOf(plan, 'aws_cloudwatch_composite_alarm').filter(([, a]) => a.tags?.slo === slo.id && a.tags.tier === tier);
  return { windows, composite: composites.length === 1 ? composites[0] : undefined };
}

describe('burn-rate tiers', () => {
  it("are the SRE workbook's: 2% of a 30-day budget in 1 h and 5% in 6 h page, 10% in 3 days is a ticket", () => {
    expect(BURN_RATE_TIERS.map((t) => [t.id, burnRate(t), t.longWindowSeconds, t.shortWindowSeconds, t.severity])).toEqual([
      ['fast', 14.4, 3600, 300, 'page'],
      ['medium', 6, 21_600, 1800, 'page'],
      ['slow', 1, 259_200, 21_600, 'ticket'],
    ]);
  });
});

describe.each(STACKS)('$stage SLO alarms', ({ stage, plan }) => {
  const targets = (STAGES[stage] as StageConfig).observability.sloTargets;

  it.each(SLOS.flatMap((slo) => BURN_RATE_TIERS.map((tier) => [slo.id, tier.id, slo, tier] as const)))(
    '%s %s: a long and a short window at the burn rate, joined by AND',
    (_slo, _tier, slo, tier) => {
      const { windows, composite } = tierOf(plan, slo, tier.id);
      const byWindow = Object.fromEntries(windows.map(([name, a]) => [a.tags?.window, { name, alarm: a }]));
      for (const [window, seconds] of [['long', tier.longWindowSeconds], ['short', tier.shortWindowSeconds]] as const) {
        const alarm = byWindow[window]?.alarm;
        expect(alarm, `${window} window`).toMatchObject({ threshold: burnRate(tier), evaluation_periods: 1, comparison_operator: 'GreaterThanThreshold', treat_missing_data: 'notBreaching' });
        for (const q of (alarm?.metric_query as Query[]).filter((x) => x.metric)) expect(q.metric?.period).toBe(seconds);
        // Window alarms notify nobody by themselves: their tier does.
        expect(alarm?.alarm_actions ?? []).toEqual([]);
      }
      expect(composite?.[1].alarm_rule).toBe(
        `ALARM("\${aws_cloudwatch_metric_alarm.${byWindow.long?.name}.alarm_name}") AND ALARM("\${aws_cloudwatch_metric_alarm.${byWindow.short?.name}.alarm_name}")`,
      );
      expect(String(composite?.[1].alarm_description)).toMatch(new RegExp(`Runbook: .*/dashboards/runbooks/slo-${slo.id}\\.md$`));
    },
  );

  it('pages through the page composite for the fast and medium tiers, and tickets the slow tier on its own', () => {
    const [, page] = alarmsOf(plan, 'aws_cloudwatch_composite_alarm').find(([, a]) => a.tags?.severity === 'page' && !a.tags.slo) as [string, Alarm];
    for (const slo of SLOS) {
      for (const tier of BURN_RATE_TIERS) {
        const [name, composite] = tierOf(plan, slo, tier.id).composite as [string, Alarm];
        const member = String(page.alarm_rule).includes(`aws_cloudwatch_composite_alarm.${name}.alarm_name`);
        expect(member, `${slo.id} ${tier.id} in the page`).toBe(tier.severity === 'page');
        expect(composite.alarm_actions).toEqual(tier.severity === 'ticket' ? [expect.stringMatching(/aws_sns_topic\..*ticket.*\.arn/)] : []);
      }
    }
  });

  it("computes the burn rate from the stage's target: bad share over the budget, 0 below the traffic floor", () => {
    const floor = (STAGES[stage] as StageConfig).observability.rateAlarmMinRequests;
    const expressionOf = (slo: SloDefinition) => {
      const [[, alarm]] = tierOf(plan, slo, 'fast').windows as [[string, Alarm]];
      return ((alarm.metric_query as Query[]).find((q) => q.return_data) as Query).expression as string;
    };
    const availability = SLOS.find((s) => s.id === 'send-availability') as SloDefinition;
    const budget = (100 - targets['send-availability']) / 100;
    // m: crashes and INTERNAL answers; g: acknowledged sends and replays.
    const burn = evaluateExpression(expressionOf(availability), { m1: 2, m2: undefined, g1: 97 + floor, g2: 1 });
    expect(burn).toBeCloseTo(2 / (100 + floor) / budget, 6);
    expect(evaluateExpression(expressionOf(availability), { m1: floor - 1, m2: undefined, g1: undefined, g2: undefined })).toBe(0);

    const latency = SLOS.find((s) => s.id === 'delivery-latency') as SloDefinition;
    const latencyBudget = (100 - targets['delivery-latency']) / 100;
    // m1: the percentage of fan-outs within the bound; m2: how many fan-outs.
    expect(evaluateExpression(expressionOf(latency), { m1: 90, m2: floor })).toBeCloseTo(0.1 / latencyBudget, 6);
    expect(evaluateExpression(expressionOf(latency), { m1: 0, m2: undefined })).toBe(0);
  });

  it('reads the send function and the service metrics, and the fan-out duration within its bound', () => {
    const metrics = (slo: string) =>
      ((tierOf(plan, SLOS.find((s) => s.id === slo) as SloDefinition, 'fast').windows[0]?.[1].metric_query as Query[]) ?? [])
        .filter((q) => q.metric)
        .map((q) => `${q.metric?.metric_name} ${q.metric?.stat} ${Object.keys(q.metric?.dimensions ?? {}).join(',')}`);
    expect(metrics('send-availability')).toEqual(['Errors Sum FunctionName', 'SendsFailed Sum service,stage', 'MessagesReceived Sum service,stage', 'IdempotentReplay Sum service,stage']);
    expect(metrics('delivery-latency')).toEqual(['FanoutDuration PR(:2000) service,stage', 'FanoutDuration SampleCount service,stage']);
  });
});

describe('SLO targets', () => {
  it('differ per stage, so the plans above show each stage renders its own', () => {
    expect(STAGES.dev.observability.sloTargets).not.toEqual(STAGES.prod.observability.sloTargets);
  });

  it('are refused at 100% (no budget) and for an SLO the catalog does not have', () => {
    const withTargets = (sloTargets: unknown) => ({ ...STAGES, dev: { ...STAGES.dev, observability: { ...STAGES.dev.observability, sloTargets } } });
    expect(() => validateStages(withTargets({ 'send-availability': 100, 'delivery-latency': 99 }))).toThrow(/sloTargets\.send-availability[\s\S]*100 leaves no error budget/);
    expect(() => validateStages(withTargets({ 'send-availability': 99, 'delivery-latency': 99, uptime: 99 }))).toThrow(StageConfigError);
  });
});
