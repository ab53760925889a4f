/**
 * Evaluates the plan's `aws_cloudwatch_metric_alarm` and `aws_cloudwatch_composite_alarm` resources against
 * the local metric store the way CloudWatch does: the last `evaluation_periods` periods, `datapoints_to_alarm`
 * of them breaching, missing data treated as the alarm says. A time scale compresses periods for drills.
 */
import { SCHEDULED_FUNCTION_TAG } from '../../dashboards/alarms.ts';
import type { StackPlan } from '../plan.ts';
import { evaluateExpression } from './expression.ts';
import type { Dimensions, MetricStore } from './metric-store.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The ARNs (SNS topics) an alarm notifies when it enters each state: its alarm_actions, ok_actions, insufficient_data_actions. */
export type AlarmActions = Readonly<Record<AlarmState, readonly string[]>>;

interface MetricSpec {
  readonly namespace: string;
  readonly name: string;
  readonly stat: string;
  readonly dimensions: Dimensions;
}

interface MetricAlarm {
  readonly kind: 'metric';
  readonly name: string;
  readonly description: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
  /** Metric ids (m1…) and the expression that yields the alarm's value. */
  readonly metrics: Readonly<Record<string, MetricSpec>>;
  readonly expression: string;
  /** Set when the alarm cannot be evaluated on one machine (anomaly bands need CloudWatch's model). */
  readonly notLocal?: string;
  readonly actions: AlarmActions;
}

interface CompositeAlarm {
  readonly kind: 'composite';
  readonly name: string;
  readonly description: string;
  readonly members: readonly string[];
  /** The alarm rule: true when the composite is in ALARM, given its members' states. */
  readonly rule: (stateOf: (name: string) => AlarmState | undefined) => boolean;
  readonly actions: AlarmActions;
}

export interface AlarmStatus {
  readonly name: string;
  readonly description: string;
  readonly kind: 'metric' | 'composite';
  state: AlarmState;
  reason: string;
  since: number;
  /** The alarm's value per evaluated period, oldest first. */
  values: (number | undefined)[];
  threshold?: number;
  readonly actions: AlarmActions;
  /** A composite's member alarms. */
  readonly members?: readonly string[];
  readonly history: { state: AlarmState; at: number; reason: string }[];
}

type Config = Record<string, unknown>;

function actionsOf(c: Config): AlarmActions {
  const list = (value: unknown) => ((value ?? []) as unknown[]).map(String);
  return { ALARM: list(c.alarm_actions), OK: list(c.ok_actions), INSUFFICIENT_DATA: list(c.insufficient_data_actions) };
}

function metricSpec(m: Config, fallbackPeriod: number): MetricSpec & { period: number } {
  return {
    namespace: String(m.namespace),
    name: String(m.metric_name),
    stat: String(m.stat ?? m.statistic ?? m.extended_statistic),
    dimensions: (m.dimensions ?? {}) as Dimensions,
    period: Number(m.period ?? fallbackPeriod),
  };
}

/**
 * `schedulesRun`: whether the stack runs the plan's schedules. Without them, an alarm tagged with the scheduled
 * function its metric comes from (the canary's) is not evaluated: its silence says nothing about the service.
 */
export function readAlarms(plan: StackPlan, options: { readonly schedulesRun?: boolean } = {}): (MetricAlarm | CompositeAlarm)[] {
  const alarms: (MetricAlarm | CompositeAlarm)[] = [];
  for (const { config: raw } of plan.resources('aws_cloudwatch_metric_alarm')) {
    const c = plan.resolve(raw) as Config;
    const scheduledFunction = (c.tags as Record<string, string> | undefined)?.[SCHEDULED_FUNCTION_TAG];
    const queries = (c.metric_query ?? []) as Config[];
    let metrics: Record<string, MetricSpec> = {};
    let expression = 'm1';
    let periodSeconds = Number(c.period ?? 60);
    let notLocal: string | undefined;
    if (queries.length === 0) {
      metrics = { m1: metricSpec(c, periodSeconds) };
    } else {
      for (const q of queries) {
        if (q.metric) {
          const spec = metricSpec(q.metric as Config, 60);
          metrics[String(q.id)] = spec;
          periodSeconds = spec.period;
        }
      }
      const returned = queries.find((q) => q.expression && (q.return_data === true || q.id === c.threshold_metric_id));
      expression = String(returned?.expression ?? Object.keys(metrics)[0]);
      if (/ANOMALY_DETECTION_BAND/.test(expression)) {
        notLocal = 'anomaly detection bands are computed by CloudWatch from days of history';
      }
    }
    if (scheduledFunction && options.schedulesRun === false) {
      notLocal = `its metric comes from the scheduled ${scheduledFunction} function, and this stack runs without schedules (runSchedules: false)`;
    }
    alarms.push({
      kind: 'metric',
      name: String(c.alarm_name),
      description: String(c.alarm_description ?? ''),
      periodSeconds,
      evaluationPeriods: Number(c.evaluation_periods),
      datapointsToAlarm: Number(c.datapoints_to_alarm ?? c.evaluation_periods),
      threshold: Number(c.threshold ?? 0),
      comparison: String(c.comparison_operator),
      treatMissingData: String(c.treat_missing_data ?? 'missing'),
      metrics,
      expression,
      notLocal,
      actions: actionsOf(c),
    });
  }
  for (const { config: raw } of plan.resources('aws_cloudwatch_composite_alarm')) {
    const c = plan.resolve(raw) as Config;
    const rule = String(c.alarm_rule);
    const members = [...rule.matchAll(/[A-Z_]+\("([^"]+)"\)/g)].map((m) => m[1] as string);
    alarms.push({ kind: 'composite', name: String(c.alarm_name), description: String(c.alarm_description ?? ''), members, rule: parseCompositeRule(rule), actions: actionsOf(c) });
  }
  return alarms;
}

/**
 * A composite alarm rule: ALARM("name"), OK("name"), INSUFFICIENT_DATA("name"), TRUE, FALSE, combined with NOT,
 * AND, OR and parentheses, NOT binding tightest and AND before OR
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html, read 2026-12-03).
 * The SLO burn-rate tiers are `ALARM(long window) AND ALARM(short window)`.
 */
export function parseCompositeRule(rule: string): CompositeAlarm['rule'] {
  const tokens = rule.match(/[A-Z_]+\("[^"]*"\)|\(|\)|[A-Za-z_]+|\S/g) ?? [];
  let at = 0;
  type Node = (stateOf: (name: string) => AlarmState | undefined) => boolean;
  const fail = (why: string): never => {
    throw new Error(`composite alarm rule "${rule}" is not supported locally: ${why}`);
  };
  const operand = (): Node => {
    const token = tokens[at++] ?? fail('it ends where an operand belongs');
    if (token === 'NOT') {
      const inner = operand();
      return (stateOf) => !inner(stateOf);
    }
    if (token === '(') {
      const inner = or();
      if (tokens[at++] !== ')') fail('unbalanced parentheses');
      return inner;
    }
    if (token === 'TRUE' || token === 'FALSE') return () => token === 'TRUE';
    const call = /^(ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)$/.exec(token) ?? fail(`${token} is not an operand`);
    const [, state, name] = call;
    return (stateOf) => stateOf(name as string) === state;
  };
  const and = (): Node => {
    let left = operand();
    while (tokens[at] === 'AND') {
      at++;
      const [l, r] = [left, operand()];
      left = (stateOf) => l(stateOf) && r(stateOf);
    }
    return left;
  };
  function or(): Node {
    let left = and();
    while (tokens[at] === 'OR') {
      at++;
      const [l, r] = [left, and()];
      left = (stateOf) => l(stateOf) || r(stateOf);
    }
    return left;
  }
  const root = or();
  if (at !== tokens.length) fail(`unexpected ${tokens[at]}`);
  return root;
}

/**
 * How long the local store keeps datapoints (before the time scale): the longest alarm window (period ×
 * evaluation periods), at least 40 minutes for the dashboard's 30 periods, at most 6 hours. Longer windows (the
 * SLOs' 3-day tier) are evaluated locally over the last 6 hours only: holding days of datapoints in a
 * development process is not worth a tier that a test cannot wait for anyway.
 */
export function metricRetentionMs(alarms: readonly (MetricAlarm | CompositeAlarm)[]): number {
  const windows = alarms.flatMap((a) => (a.kind === 'metric' ? [a.periodSeconds * a.evaluationPeriods * 1000] : []));
  return Math.min(6 * 3600_000, Math.max(40 * 60_000, ...windows));
}

function breaches(value: number, comparison: string, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`comparison ${comparison} is not supported locally`);
  }
}

export class AlarmEvaluator {
  readonly statuses = new Map<string, AlarmStatus>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly alarms: readonly (MetricAlarm | CompositeAlarm)[],
    private readonly store: MetricStore,
    private readonly timeScale = 1,
    /** Called on every state change with the state the alarm left, as CloudWatch runs the new state's actions. */
    private readonly onChange: (status: AlarmStatus, previous: AlarmState) => void = () => undefined,
    /**
     * When the stack started: periods that began before it are not missing data, they are before its time.
     * Without it, an alarm that treats missing data as breaching (the canary's) would page on every boot before
     * the first run. On AWS the same alarm pages once, at the stage's first deployment (docs/operations.md#canary).
     */
    private readonly bornAt = Number.NEGATIVE_INFINITY,
  ) {
    for (const alarm of alarms) {
      const notLocal = alarm.kind === 'metric' ? alarm.notLocal : undefined;
      this.statuses.set(alarm.name, {
        name: alarm.name,
        description: alarm.description,
        kind: alarm.kind,
        state: 'INSUFFICIENT_DATA',
        reason: notLocal ? `not evaluated locally: ${notLocal}` : 'no evaluation yet',
        since: Date.now(),
        values: [],
        threshold: alarm.kind === 'metric' ? alarm.threshold : undefined,
        actions: alarm.actions,
        members: alarm.kind === 'composite' ? alarm.members : undefined,
        history: [],
      });
    }
  }

  /** Evaluates every period's worth of time, scaled; the shortest period decides the tick. */
  start(): void {
    const periods = this.alarms.flatMap((a) => (a.kind === 'metric' ? [a.periodSeconds] : []));
    const tickMs = Math.max(200, Math.min(10_000, (Math.min(60, ...periods) * 1000) / this.timeScale / 4));
    this.timer = setInterval(() => this.evaluate(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  evaluate(now = Date.now()): void {
    for (const alarm of this.alarms) if (alarm.kind === 'metric') this.evaluateMetric(alarm, now);
    // A composite may name other composites (the page names the SLO tiers): members first, whatever the plan's order.
    const composites = this.alarms.filter((a): a is CompositeAlarm => a.kind === 'composite');
    const done = new Set<string>();
    while (done.size < composites.length) {
      const ready = composites.filter((c) => !done.has(c.name) && c.members.every((m) => done.has(m) || !composites.some((o) => o.name === m)));
      if (!ready.length) throw new Error(`composite alarms name each other in a cycle: ${composites.filter((c) => !done.has(c.name)).map((c) => c.name).join(', ')}`);
      for (const alarm of ready) {
        const stateOf = (name: string) => this.statuses.get(name)?.state;
        const firing = alarm.members.filter((m) => stateOf(m) === 'ALARM');
        const inAlarm = alarm.rule(stateOf);
        const reason = firing.length ? `${inAlarm ? '' : 'rule not met; '}members in ALARM: ${firing.join(', ')}` : 'no member in ALARM';
        this.transition(alarm.name, inAlarm ? 'ALARM' : 'OK', reason, now);
        done.add(alarm.name);
      }
    }
  }

  private evaluateMetric(alarm: MetricAlarm, now: number): void {
    if (alarm.notLocal) return;
    const periodMs = (alarm.periodSeconds * 1000) / this.timeScale;
    const ends = Array.from({ length: alarm.evaluationPeriods }, (_, i) => now - (alarm.evaluationPeriods - 1 - i) * periodMs);
    const values = ends.map((end) => {
      const inputs = Object.fromEntries(
        Object.entries(alarm.metrics).map(([id, m]) => [id, this.store.stat({ namespace: m.namespace, name: m.name, dimensions: m.dimensions }, m.stat, end - periodMs, end)]),
      );
      return evaluateExpression(alarm.expression, inputs);
    });
    const status = this.statuses.get(alarm.name) as AlarmStatus;
    status.values = values;
    const present = values.filter((v): v is number => v !== undefined);
    const missing = values.filter((v, i) => v === undefined && (ends[i] as number) - periodMs >= this.bornAt).length;
    const treat = alarm.treatMissingData;
    if (present.length === 0) {
      if (treat === 'ignore') return;
      if (treat === 'missing') return this.transition(alarm.name, 'INSUFFICIENT_DATA', 'no datapoints', now);
      if (treat === 'breaching' && missing === 0) return this.transition(alarm.name, 'INSUFFICIENT_DATA', 'no whole period since the stack started', now);
    }
    const breaching =
      present.filter((v) => breaches(v, alarm.comparison, alarm.threshold)).length + (treat === 'breaching' ? missing : 0);
    const shown = present.map((v) => Math.round(v * 100) / 100).join(', ');
    if (breaching >= alarm.datapointsToAlarm) {
      this.transition(alarm.name, 'ALARM', `${breaching} of ${alarm.evaluationPeriods} datapoints [${shown}] ${alarm.comparison} ${alarm.threshold}`, now);
    } else {
      this.transition(alarm.name, 'OK', `${breaching} of ${alarm.evaluationPeriods} datapoints breaching (needs ${alarm.datapointsToAlarm}) [${shown}]`, now);
    }
  }

  private transition(name: string, state: AlarmState, reason: string, now: number): void {
    const status = this.statuses.get(name) as AlarmStatus;
    status.reason = reason;
    if (status.state === state) return;
    const previous = status.state;
    status.state = state;
    status.since = now;
    status.history.push({ state, at: now, reason });
    this.onChange(status, previous);
  }
}
