/** The local CloudWatch pieces: statistics, metric math, EMF ingestion and CloudWatch's alarm semantics. */
import { describe, expect, it } from 'vitest';
import { AlarmEvaluator, metricRetentionMs, parseCompositeRule } from '../../local/observability/alarm-evaluator.ts';
import { ingestEmf } from '../../local/observability/emf.ts';
import { evaluateExpression } from '../../local/observability/expression.ts';
import { MetricStore, statistic } from '../../local/observability/metric-store.ts';

describe('statistics', () => {
  it('computes sums, averages, extremes, counts and nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(statistic(values, 'Sum')).toBe(5050);
    expect(statistic(values, 'Average')).toBe(50.5);
    expect(statistic(values, 'Minimum')).toBe(1);
    expect(statistic(values, 'Maximum')).toBe(100);
    expect(statistic(values, 'SampleCount')).toBe(100);
    expect(statistic(values, 'p99')).toBe(99);
    expect(statistic(values, 'p50')).toBe(50);
    // Percentile rank: the share of values in (lower, upper], lower exclusive and upper inclusive.
    expect(statistic(values, 'PR(:20)')).toBe(20);
    expect(statistic(values, 'PR(10:20)')).toBe(10);
    expect(statistic(values, 'PR(90:)')).toBe(10);
    expect(statistic([], 'Sum')).toBeUndefined();
    expect(() => statistic([1], 'Median')).toThrow(/unsupported statistic/);
  });

  it('matches dimensions exactly and windows by time', () => {
    const store = new MetricStore();
    store.put('AWS/Lambda', 'Errors', { FunctionName: 'a' }, 1, 1000);
    store.put('AWS/Lambda', 'Errors', { FunctionName: 'a' }, 2, 2000);
    store.put('AWS/Lambda', 'Errors', { FunctionName: 'b' }, 5, 1500);
    const key = { namespace: 'AWS/Lambda', name: 'Errors', dimensions: { FunctionName: 'a' } };
    expect(store.stat(key, 'Sum', 0, 3000)).toBe(3);
    expect(store.stat(key, 'Sum', 1500, 3000)).toBe(2);
    expect(store.stat({ ...key, dimensions: {} }, 'Sum', 0, 3000)).toBeUndefined();
    expect(store.history(key, "Sum", 1000, 3, 3000)).toEqual([undefined, 1, 2]);
  });

  it("records through a recorder into the same series as put, copies its dimensions, and starts anew after clear()", () => {
    const store = new MetricStore();
    const dimensions = { ApiId: 'api', Stage: 'dev' };
    const record = store.recorder('AWS/ApiGateway', dimensions);
    record('MessageCount', 1, 1000);
    store.put('AWS/ApiGateway', 'MessageCount', { Stage: 'dev', ApiId: 'api' }, 1, 1100);
    record('MessageCount', 1, 1200);
    record('MessageCount', Number.NaN, 1300);
    record('ClientError', 1, 1200);
    // A caller changing its object afterwards does not move the recorder's series.
    (dimensions as { Stage: string }).Stage = 'prod';
    record('MessageCount', 1, 1400);
    const messages = { namespace: 'AWS/ApiGateway', name: 'MessageCount', dimensions: { ApiId: 'api', Stage: 'dev' } };
    expect(store.stat(messages, 'Sum', 0, 2000)).toBe(4);
    expect(store.stat({ ...messages, name: 'ClientError' }, 'SampleCount', 0, 2000)).toBe(1);
    expect(store.keys()).toHaveLength(2);
    store.clear();
    expect(store.datapoints).toBe(0);
    record('MessageCount', 1, 1500);
    expect(store.stat(messages, 'SampleCount', 0, 2000)).toBe(1);
    expect(store.datapoints).toBe(1);
  });
});

describe('metric math', () => {
  it('evaluates arithmetic with precedence, parentheses and FILL', () => {
    expect(evaluateExpression('100 * m1 / (m2 + m3)', { m1: 5, m2: 10, m3: 40 })).toBe(10);
    expect(evaluateExpression('m1 - m2 * 2', { m1: 10, m2: 3 })).toBe(4);
    expect(evaluateExpression('FILL(m1, 0) + FILL(m2, 0)', { m1: undefined, m2: 3 })).toBe(3);
  });

  it('evaluates comparisons to 1 or 0, IF on a condition, and MAX over a list that skips gaps', () => {
    expect(evaluateExpression('m1 >= 10', { m1: 10 })).toBe(1);
    expect(evaluateExpression('m1 > 10', { m1: 10 })).toBe(0);
    expect(evaluateExpression('m1 + 1 == 2 * 3', { m1: 5 })).toBe(1);
    expect(evaluateExpression('m1 != 5', { m1: 5 })).toBe(0);
    expect(evaluateExpression('(m1 < 1) + (m1 <= 1)', { m1: 1 })).toBe(1);
    // The traffic floor of the rate alarms: the rate only when the denominator reaches 5, else 0.
    const rate = 'IF(FILL(m2, 0) >= 5, 100 * FILL(m1, 0) / FILL(m2, 0), 0)';
    expect(evaluateExpression(rate, { m1: 2, m2: 4 })).toBe(0);
    expect(evaluateExpression(rate, { m1: 1, m2: 5 })).toBe(20);
    expect(evaluateExpression(rate, { m1: undefined, m2: undefined })).toBe(0);
    expect(evaluateExpression('IF(m1, 1, 2)', { m1: undefined })).toBeUndefined();
    expect(evaluateExpression('MAX([m1, m2, m3])', { m1: 3, m2: undefined, m3: 7 })).toBe(7);
    expect(evaluateExpression('MAX([m1])', { m1: undefined })).toBeUndefined();
  });

  it('leaves a gap for missing inputs and division by zero', () => {
    expect(evaluateExpression('m1 + m2', { m1: 1, m2: undefined })).toBeUndefined();
    expect(evaluateExpression('100 * FILL(m1, 0) / FILL(m2, 0)', { m1: undefined, m2: undefined })).toBeUndefined();
  });

  it('rejects what it cannot evaluate, naming the expression', () => {
    expect(() => evaluateExpression('ANOMALY_DETECTION_BAND(m1, 2)', { m1: 1 })).toThrow(/ANOMALY_DETECTION_BAND/);
    expect(() => evaluateExpression('m1 + m9', { m1: 1 })).toThrow(/unknown metric id m9/);
    expect(() => evaluateExpression('m1 +', { m1: 1 })).toThrow(/unexpected end/);
    expect(() => evaluateExpression('m1 % 2', { m1: 1 })).toThrow(/cannot evaluate/);
    expect(() => evaluateExpression('IF(m1, 2)', { m1: 1 })).toThrow(/expected ,/);
    expect(() => evaluateExpression('MAX(m1)', { m1: 1 })).toThrow(/expected \[/);
  });

  it('parses an expression once and evaluates it against each call\'s values: none of them is kept', () => {
    const expression = '100 * FILL(m1, 0) / m2';
    expect(evaluateExpression(expression, { m1: 1, m2: 4 })).toBe(25);
    expect(evaluateExpression(expression, { m1: undefined, m2: 5 })).toBe(0);
    expect(evaluateExpression(expression, { m1: 3, m2: undefined })).toBeUndefined();
    // An id the values lack is refused on every evaluation, not only on the one that parsed the expression.
    expect(() => evaluateExpression(expression, { m1: 1 })).toThrow(/unknown metric id m2/);
    expect(evaluateExpression(expression, { m1: 2, m2: 8 })).toBe(25);
    // A refused expression stays refused: a failed parse is not kept as an answer.
    expect(() => evaluateExpression('m1 +', { m1: 1 })).toThrow(/unexpected end/);
    expect(() => evaluateExpression('m1 +', { m1: 1 })).toThrow(/unexpected end/);
  });
});

describe('EMF ingestion', () => {
  it('records every metric of a Powertools blob under its dimension set', () => {
    const store = new MetricStore();
    const line = JSON.stringify({
      _aws: { Timestamp: 5000, CloudWatchMetrics: [{ Namespace: 'WsChat', Dimensions: [['service', 'stage']], Metrics: [{ Name: 'MessagesDelivered' }, { Name: 'FanoutDuration' }] }] },
      service: 'wschat',
      stage: 'dev',
      MessagesDelivered: 3,
      FanoutDuration: [12, 40],
    });
    expect(ingestEmf(line, store)).toBe(true);
    const dims = { service: 'wschat', stage: 'dev' };
    expect(store.stat({ namespace: 'WsChat', name: 'MessagesDelivered', dimensions: dims }, 'Sum', 0, 10_000)).toBe(3);
    expect(store.stat({ namespace: 'WsChat', name: 'FanoutDuration', dimensions: dims }, 'Maximum', 0, 10_000)).toBe(40);
  });

  it('ignores lines that are not EMF', () => {
    const store = new MetricStore();
    expect(ingestEmf('{"level":"INFO","message":"hi"}', store)).toBe(false);
    expect(ingestEmf('{"_aws": oops', store)).toBe(false);
    expect(store.keys()).toEqual([]);
  });
});

const NO_ACTIONS = { ALARM: [], OK: [], INSUFFICIENT_DATA: [] };
const composite = (name: string, rule: string) => {
  const members = [...rule.matchAll(/\("([^"]+)"\)/g)].map((m) => m[1] as string);
  return { kind: 'composite' as const, name, description: '', members, rule: parseCompositeRule(rule), actions: NO_ACTIONS };
};

describe('composite alarm rules', () => {
  const states: Record<string, 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'> = { a: 'ALARM', b: 'OK', c: 'INSUFFICIENT_DATA' };
  const holds = (rule: string) => parseCompositeRule(rule)((name) => states[name]);
  it('evaluates state functions, NOT, AND before OR, parentheses and constants as CloudWatch does', () => {
    expect(holds('ALARM("a") AND ALARM("b")')).toBe(false);
    expect(holds('ALARM("a") AND OK("b")')).toBe(true);
    expect(holds('ALARM("b") AND ALARM("a") OR INSUFFICIENT_DATA("c")')).toBe(true);
    expect(holds('ALARM("b") AND (ALARM("a") OR INSUFFICIENT_DATA("c"))')).toBe(false);
    expect(holds('NOT ALARM("b") AND TRUE')).toBe(true);
    expect(holds('FALSE OR ALARM("missing")')).toBe(false);
  });

  it('refuses what it cannot read, saying so', () => {
    expect(() => parseCompositeRule('ALARM("a") AND')).toThrow(/ends where an operand belongs/);
    expect(() => parseCompositeRule('(ALARM("a")')).toThrow(/unbalanced/);
    expect(() => parseCompositeRule('ALARM("a") XOR OK("b")')).toThrow(/unexpected XOR/);
    expect(() => parseCompositeRule('alarm("a")')).toThrow(/not an operand/);
  });
});

describe('metric retention', () => {
  const windowed = (periodSeconds: number, evaluationPeriods: number) => ({
    kind: 'metric' as const,
    name: 'w',
    description: '',
    periodSeconds,
    evaluationPeriods,
    datapointsToAlarm: 1,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    metrics: {},
    expression: '0',
    actions: NO_ACTIONS,
  });
  it('covers the longest alarm window, at least 40 minutes and at most 6 hours', () => {
    expect(metricRetentionMs([windowed(60, 3)])).toBe(40 * 60_000);
    expect(metricRetentionMs([windowed(60, 3), windowed(3600, 1)])).toBe(3600_000);
    expect(metricRetentionMs([windowed(3 * 86_400, 1)])).toBe(6 * 3600_000);
  });
});

describe('alarm evaluation', () => {
  const key = { namespace: 'AWS/Lambda', name: 'Errors', dimensions: { FunctionName: 'f' } };
  const alarm = (treatMissingData: string) => ({
    kind: 'metric' as const,
    name: 'errors',
    description: 'Runbook: x',
    periodSeconds: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    treatMissingData,
    metrics: { m1: { ...key, stat: 'Sum' } },
    expression: 'm1',
    actions: NO_ACTIONS,
  });
  const minute = 60_000;

  it('alarms when datapointsToAlarm of the evaluated periods breach, and recovers when they stop', () => {
    const store = new MetricStore();
    const evaluator = new AlarmEvaluator([alarm('notBreaching')], store);
    const now = 10 * minute;
    store.put(key.namespace, key.name, key.dimensions, 1, now - 2.5 * minute);
    evaluator.evaluate(now);
    expect(evaluator.statuses.get('errors')?.state).toBe('OK');
    store.put(key.namespace, key.name, key.dimensions, 1, now - 0.5 * minute);
    evaluator.evaluate(now);
    expect(evaluator.statuses.get('errors')?.state).toBe('ALARM');
    evaluator.evaluate(now + 2 * minute);
    expect(evaluator.statuses.get('errors')?.state).toBe('OK');
    expect(evaluator.statuses.get('errors')?.history.map((h) => h.state)).toEqual(['OK', 'ALARM', 'OK']);
  });

  it('reports every state change with the state it left, so its actions can run', () => {
    const store = new MetricStore();
    const changes: string[] = [];
    const evaluator = new AlarmEvaluator([alarm('notBreaching')], store, 1, (status, previous) => changes.push(`${previous}->${status.state}`));
    const now = 10 * minute;
    evaluator.evaluate(now);
    store.put(key.namespace, key.name, key.dimensions, 1, now + 0.5 * minute);
    store.put(key.namespace, key.name, key.dimensions, 1, now + 1.5 * minute);
    evaluator.evaluate(now + 2 * minute);
    evaluator.evaluate(now + 2 * minute);
    evaluator.evaluate(now + 5 * minute);
    expect(changes).toEqual(['INSUFFICIENT_DATA->OK', 'OK->ALARM', 'ALARM->OK']);
  });

  it('treats missing data as the alarm says', () => {
    const store = new MetricStore();
    const evaluator = new AlarmEvaluator([{ ...alarm('missing'), name: 'm' }, { ...alarm('breaching'), name: 'b' }, { ...alarm('notBreaching'), name: 'n' }], store);
    evaluator.evaluate(10 * minute);
    expect(evaluator.statuses.get('m')?.state).toBe('INSUFFICIENT_DATA');
    expect(evaluator.statuses.get('b')?.state).toBe('ALARM');
    expect(evaluator.statuses.get('n')?.state).toBe('OK');
  });

  it('counts no period that began before it started as missing data (a breaching alarm waits for one whole period)', () => {
    const store = new MetricStore();
    const startedAt = 10 * minute;
    const evaluator = new AlarmEvaluator([{ ...alarm('breaching'), name: 'b' }], store, 1, () => undefined, startedAt);
    evaluator.evaluate(startedAt + minute / 2);
    expect(evaluator.statuses.get('b')).toMatchObject({ state: 'INSUFFICIENT_DATA', reason: 'no whole period since the stack started' });
    // Positive control: once whole periods without data have passed since the start, they breach.
    evaluator.evaluate(startedAt + 4 * minute);
    expect(evaluator.statuses.get('b')?.state).toBe('ALARM');
  });

  it('compresses periods by the time scale', () => {
    const store = new MetricStore();
    const evaluator = new AlarmEvaluator([alarm('notBreaching')], store, 60);
    const now = 100_000;
    store.put(key.namespace, key.name, key.dimensions, 1, now - 1500);
    store.put(key.namespace, key.name, key.dimensions, 1, now - 500);
    evaluator.evaluate(now);
    expect(evaluator.statuses.get('errors')?.state).toBe('ALARM');
  });

  it('fires a composite when any member is in ALARM', () => {
    const store = new MetricStore();
    const evaluator = new AlarmEvaluator([alarm('breaching'), composite('page', 'ALARM("errors")')], store);
    evaluator.evaluate(10 * minute);
    expect(evaluator.statuses.get('page')).toMatchObject({ state: 'ALARM', reason: 'members in ALARM: errors' });
  });

  it('fires an AND composite (a burn-rate tier) only when both windows are in ALARM, and a composite of composites after it', () => {
    const store = new MetricStore();
    // The page is listed first: members are evaluated before the composites that name them, whatever the order.
    const evaluator = new AlarmEvaluator(
      [
        composite('page', 'ALARM("tier") OR ALARM("other")'),
        composite('tier', 'ALARM("long") AND ALARM("short")'),
        { ...alarm('breaching'), name: 'long' },
        { ...alarm('notBreaching'), name: 'short' },
        { ...alarm('notBreaching'), name: 'other', metrics: { m1: { ...key, name: 'Throttles', stat: 'Sum' } } },
      ],
      store,
    );
    evaluator.evaluate(10 * minute);
    expect(evaluator.statuses.get('tier')).toMatchObject({ state: 'OK', reason: 'rule not met; members in ALARM: long' });
    expect(evaluator.statuses.get('page')?.state).toBe('OK');
    store.put(key.namespace, key.name, key.dimensions, 1, 10 * minute - 1000);
    store.put(key.namespace, key.name, key.dimensions, 1, 10 * minute - 1.5 * minute);
    evaluator.evaluate(10 * minute);
    expect(evaluator.statuses.get('tier')?.state).toBe('ALARM');
    expect(evaluator.statuses.get('page')).toMatchObject({ state: 'ALARM', reason: 'members in ALARM: tier' });
  });

  it('refuses composites that name each other in a cycle', () => {
    const evaluator = new AlarmEvaluator([composite('a', 'ALARM("b")'), composite('b', 'ALARM("a")')], new MetricStore());
    expect(() => evaluator.evaluate(minute)).toThrow(/cycle: a, b/);
  });

  it('never evaluates an anomaly-band alarm locally and says why', () => {
    const evaluator = new AlarmEvaluator([{ ...alarm('missing'), name: 'anomaly', notLocal: 'needs CloudWatch' }], new MetricStore());
    evaluator.evaluate(10 * minute);
    expect(evaluator.statuses.get('anomaly')).toMatchObject({ state: 'INSUFFICIENT_DATA', reason: 'not evaluated locally: needs CloudWatch' });
  });
});
