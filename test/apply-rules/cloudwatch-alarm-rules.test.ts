/**
 * PutMetricAlarm and PutCompositeAlarm check what `terraform validate` cannot: metric-math ids, which query
 * returns data, the functions and ids an expression uses, how many metrics it reads; a composite rule's
 * grammar, length and the alarms it names.
 */
import { describe, expect, it } from 'vitest';
import { named, readPlan, ruleData, synthesizedStacks } from './support.ts';

const MATH = ruleData<{ idPattern: string; maxMetricsPerAlarm: number; functions: string[]; notInAlarms: string[] }>('cloudwatch-metric-math.json');
const RANGE = ruleData<{
  highResolutionPeriods: number[];
  periodMultipleOf: number;
  maxRangeSeconds: number;
  shortPeriodBelowSeconds: number;
  maxRangeSecondsForShortPeriods: number;
}>('cloudwatch-alarm-evaluation-range.json');
const COMPOSITE = ruleData<{ functions: string[]; constants: string[]; operators: string[]; maxLength: number; maxChildren: number }>('cloudwatch-composite-alarm.json');

interface Query {
  id: string;
  expression?: string;
  return_data?: boolean;
  metric?: unknown;
}

/** What PutMetricAlarm would refuse in an alarm's metric queries. */
export function metricMathViolations(queries: readonly Query[], thresholdMetricId?: string): string[] {
  if (queries.length === 0) return [];
  const problems: string[] = [];
  const ids = new Set(queries.map((q) => q.id));
  for (const q of queries) if (!new RegExp(MATH.idPattern).test(q.id)) problems.push(`id ${q.id} does not match ${MATH.idPattern}`);
  const returning = queries.filter((q) => q.return_data).map((q) => q.id);
  const expected = thresholdMetricId ? 2 : 1;
  if (returning.length !== expected || (thresholdMetricId && !returning.includes(thresholdMetricId))) {
    problems.push(`returns data from [${returning.join(', ')}]; needs exactly ${thresholdMetricId ? `the band ${thresholdMetricId} and the metric it watches` : 'one query'}`);
  }
  const metrics = queries.filter((q) => q.metric).length;
  if (metrics > MATH.maxMetricsPerAlarm) problems.push(`${metrics} metrics, at most ${MATH.maxMetricsPerAlarm}`);
  for (const q of queries.filter((x) => x.expression !== undefined)) {
    for (const [name] of (q.expression as string).matchAll(/[A-Z_][A-Z0-9_]*(?=\s*\()/g)) {
      if (MATH.notInAlarms.includes(name)) problems.push(`${q.id}: ${name} is not allowed in alarms`);
      else if (!MATH.functions.includes(name)) problems.push(`${q.id}: unknown function ${name}`);
    }
    for (const [ref] of (q.expression as string).matchAll(/\b[a-z][a-zA-Z0-9_]*\b/g)) {
      if (!ids.has(ref)) problems.push(`${q.id}: references unknown id ${ref}`);
    }
  }
  return problems;
}

interface AlarmWindow {
  period?: number;
  evaluation_periods?: number;
  datapoints_to_alarm?: number;
  metric_query?: { metric?: { period?: number } }[];
}

/**
 * What PutMetricAlarm would refuse in an alarm's periods and evaluation range (the SLO burn-rate windows reach
 * 3 days: one period of 259,200 s, within the 7 days allowed to periods of an hour or more).
 */
export function evaluationRangeViolations(alarm: AlarmWindow): string[] {
  const periods = alarm.metric_query?.length ? alarm.metric_query.flatMap((q) => (q.metric ? [Number(q.metric.period)] : [])) : [Number(alarm.period)];
  const problems: string[] = [];
  for (const period of periods) {
    if (!RANGE.highResolutionPeriods.includes(period) && !(period > 0 && period % RANGE.periodMultipleOf === 0)) problems.push(`period ${period} s`);
  }
  const evaluationPeriods = Number(alarm.evaluation_periods);
  for (const period of new Set(periods)) {
    const range = period * evaluationPeriods;
    const limit = period < RANGE.shortPeriodBelowSeconds ? RANGE.maxRangeSecondsForShortPeriods : RANGE.maxRangeSeconds;
    if (range > limit) problems.push(`evaluates ${range} s (${period} s × ${evaluationPeriods}), at most ${limit} s for a ${period} s period`);
  }
  if (Number(alarm.datapoints_to_alarm ?? evaluationPeriods) > evaluationPeriods) problems.push(`datapoints_to_alarm ${alarm.datapoints_to_alarm} > evaluation_periods ${evaluationPeriods}`);
  return problems;
}

/** What PutCompositeAlarm would refuse in a rule, given the names of the alarms that exist. */
export function compositeRuleViolations(rule: string, alarmNames: ReadonlySet<string>): string[] {
  const problems: string[] = rule.length > COMPOSITE.maxLength ? [`rule is ${rule.length} characters, at most ${COMPOSITE.maxLength}`] : [];
  const tokens = rule.match(/[A-Z_]+\("[^"]*"\)|\(|\)|[A-Za-z_]+|\S/g) ?? [];
  let depth = 0;
  let expectOperand = true;
  let children = 0;
  for (const token of tokens) {
    const call = /^([A-Z_]+)\("([^"]*)"\)$/.exec(token);
    if (call) {
      if (!expectOperand) problems.push(`${token}: an operand where an operator belongs`);
      if (!COMPOSITE.functions.includes(call[1] as string)) problems.push(`${call[1]}: not a state function`);
      if (!alarmNames.has(call[2] as string)) problems.push(`${call[2]}: no such alarm`);
      children++;
      expectOperand = false;
    } else if (COMPOSITE.constants.includes(token)) {
      if (!expectOperand) problems.push(`${token}: an operand where an operator belongs`);
      expectOperand = false;
    } else if (token === 'NOT') {
      if (!expectOperand) problems.push('NOT where an operator belongs');
    } else if (COMPOSITE.operators.includes(token)) {
      if (expectOperand) problems.push(`${token} without a left operand`);
      expectOperand = true;
    } else if (token === '(') {
      depth++;
    } else if (token === ')') {
      if (--depth < 0 || expectOperand) problems.push('unbalanced or empty parentheses');
    } else {
      problems.push(`${token}: not part of the rule grammar`);
    }
  }
  if (depth !== 0 || expectOperand) problems.push('the rule ends incomplete');
  if (children > COMPOSITE.maxChildren) problems.push(`${children} alarms, at most ${COMPOSITE.maxChildren}`);
  return problems;
}

describe('metric-math alarm rules', () => {
  it('catches a bad id, two returning queries, an unknown function, SEARCH, an unknown id and too many metrics', () => {
    const metric = { namespace: 'AWS/Lambda', metric_name: 'Errors' };
    expect(metricMathViolations([{ id: 'M1', metric, return_data: true }])).toEqual(['id M1 does not match ^[a-z][a-zA-Z0-9_]*$']);
    expect(metricMathViolations([{ id: 'm1', metric, return_data: true }, { id: 'e1', expression: 'm1', return_data: true }])).toHaveLength(1);
    expect(metricMathViolations([{ id: 'm1', metric }, { id: 'e1', expression: 'FILLZERO(m1) + m2', return_data: true }])).toEqual([
      'e1: unknown function FILLZERO',
      'e1: references unknown id m2',
    ]);
    expect(metricMathViolations([{ id: 'e1', expression: "SEARCH('{AWS/Lambda} Errors', 'Sum')", return_data: true }])).toContain('e1: SEARCH is not allowed in alarms');
    const eleven = Array.from({ length: 11 }, (_, i) => ({ id: `m${i + 1}`, metric }));
    expect(metricMathViolations([...eleven, { id: 'e1', expression: 'm1', return_data: true }])).toEqual(['11 metrics, at most 10']);
  });

  it('accepts an anomaly band alarm that returns the metric and its band', () => {
    const queries = [
      { id: 'm1', metric: {}, return_data: true },
      { id: 'ad1', expression: 'ANOMALY_DETECTION_BAND(m1, 3)', return_data: true },
    ];
    expect(metricMathViolations(queries, 'ad1')).toEqual([]);
    expect(metricMathViolations(queries)).toHaveLength(1);
  });
});

describe('alarm evaluation ranges', () => {
  it('allows a 3-day period once, an hour-long period for 7 days, and short periods for 1 day only', () => {
    expect(evaluationRangeViolations({ period: 259_200, evaluation_periods: 1 })).toEqual([]);
    expect(evaluationRangeViolations({ period: 3600, evaluation_periods: 168 })).toEqual([]);
    expect(evaluationRangeViolations({ period: 3600, evaluation_periods: 169 })).toEqual(['evaluates 608400 s (3600 s × 169), at most 604800 s for a 3600 s period']);
    expect(evaluationRangeViolations({ period: 1800, evaluation_periods: 49 })).toEqual(['evaluates 88200 s (1800 s × 49), at most 86400 s for a 1800 s period']);
    expect(evaluationRangeViolations({ metric_query: [{ metric: { period: 90 } }, {}], evaluation_periods: 1 })).toEqual(['period 90 s']);
    expect(evaluationRangeViolations({ period: 60, evaluation_periods: 3, datapoints_to_alarm: 4 })).toEqual(['datapoints_to_alarm 4 > evaluation_periods 3']);
  });
});

describe('composite alarm rules', () => {
  const names = new Set(['a', 'b']);
  it('catches an unknown alarm, a dangling operator, a lowercase state, unbalanced parentheses and a rule over the length', () => {
    expect(compositeRuleViolations('ALARM("a") OR ALARM("c")', names)).toEqual(['c: no such alarm']);
    expect(compositeRuleViolations('ALARM("a") OR', names)).toEqual(['the rule ends incomplete']);
    expect(compositeRuleViolations('alarm("a")', names).length).toBeGreaterThan(0);
    expect(compositeRuleViolations('(ALARM("a") OR ALARM("b")', names)).toEqual(['the rule ends incomplete']);
    expect(compositeRuleViolations(Array.from({ length: 800 }, () => 'ALARM("a")').join(' OR '), names)[0]).toMatch(/at most 10240/);
    expect(compositeRuleViolations('NOT ALARM("a") AND (OK("b") OR TRUE)', names)).toEqual([]);
  });
});

describe.each(synthesizedStacks())('%s alarms', (stack) => {
  const plan = readPlan(stack);
  const alarms = named(plan, 'aws_cloudwatch_metric_alarm');

  it('has metric-math alarms CloudWatch accepts', () => {
    const math = alarms.filter(([, a]) => Array.isArray(a.metric_query));
    expect(math.length).toBeGreaterThan(0);
    const problems = math.flatMap(([name, a]) => metricMathViolations(a.metric_query as Query[], a.threshold_metric_id as string | undefined).map((p) => `${name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('has alarms whose periods and evaluation ranges CloudWatch accepts', () => {
    const problems = alarms.flatMap(([name, a]) => evaluationRangeViolations(a as AlarmWindow).map((p) => `${name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('has composite alarms whose rules CloudWatch accepts and name alarms of this stack', () => {
    const composites = named(plan, 'aws_cloudwatch_composite_alarm');
    const names = new Set([...alarms, ...composites].map(([, a]) => String(a.alarm_name)));
    expect(composites.length).toBeGreaterThan(0);
    // The rule names its members (metric alarms, and the SLO tiers' composites) by reference; AWS sees their names.
    const resolve = (rule: string) =>
      rule.replace(/\$\{(aws_cloudwatch_metric_alarm|aws_cloudwatch_composite_alarm)\.([^.}]+)\.alarm_name\}/g, (whole, type: string, id: string) =>
        String(plan.resource[type]?.[id]?.alarm_name ?? whole),
      );
    for (const [, composite] of composites) expect(compositeRuleViolations(resolve(String(composite.alarm_rule)), names)).toEqual([]);
  });
});
