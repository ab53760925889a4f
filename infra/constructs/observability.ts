import { ChatbotSlackChannelConfiguration } from '@cdktf/provider-aws/lib/chatbot-slack-channel-configuration/index.js';
import { CloudwatchCompositeAlarm } from '@cdktf/provider-aws/lib/cloudwatch-composite-alarm/index.js';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig, type CloudwatchMetricAlarmMetricQuery } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { CloudwatchQueryDefinition } from '@cdktf/provider-aws/lib/cloudwatch-query-definition/index.js';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { XrayGroup } from '@cdktf/provider-aws/lib/xray-group/index.js';
import { TerraformIterator, TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { ALARMS, alarmById, runbookPath, SCHEDULED_FUNCTION_TAG, type AlarmDefinition, type AlarmScope, type MetricRef, type Severity } from '../../dashboards/alarms.ts';
import { DASHBOARD, type Annotation, type Widget } from '../../dashboards/dashboard.ts';
import { METRICS_NAMESPACE } from '../../dashboards/metrics.ts';
import { BURN_RATE_TIERS, burnRate, SLO_PERIOD_SECONDS, SLOS, sloAlarmId, sloById, sloRunbookId, type BurnRateTier, type SloDefinition, type SliMetric } from '../../dashboards/slos.ts';
import { QUERIES } from '../../dashboards/queries.ts';
import { FUNCTIONS, ROUTES, tableOperations, type FunctionName } from '../../functions/catalog/functions.ts';
import { TABLES, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { resourceName, SERVICE, type StageConfig } from '../config/stages.ts';
import { aliasQualifiedName, LIVE_ALIAS } from './functions.ts';
import { ALARM_TARGET_VARIABLES, RUNBOOK_BASE_URL_VARIABLE, SLACK_CHANNEL_VARIABLE } from '../config/variables.ts';

export interface ObservabilityProps {
  readonly stage: StageConfig;
  readonly apiId: string;
  readonly functions: Record<FunctionName, LambdaFunction>;
  readonly functionLogGroups: readonly string[];
  readonly accessLogGroup: string;
  readonly tables: Record<TableKey, DynamodbTable>;
  /** Name of the fan-out function's dead-letter queue. */
  readonly fanoutDeadLetterQueue: string;
  /** Customer-managed KMS key for the alarm topics; without one, SNS stores messages unencrypted at rest. */
  readonly kmsKeyArn?: string;
  /** The account id (infra/constructs/account.ts), which the topic policies name. */
  readonly accountId: string;
  /** The custom domain's ACM certificate, on stages that serve one. */
  readonly certificateArn?: string;
}

/** Who publishes to a severity's topic: CloudWatch alarms to both, AWS Budgets to the ticket targets (infra/constructs/budget.ts). */
const TOPIC_PUBLISHERS: Readonly<Record<Severity, readonly string[]>> = {
  page: ['cloudwatch.amazonaws.com'],
  ticket: ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com'],
};

type Dimensions = Record<string, string>;

/** One alarm of the catalog made concrete for one API, function, table, the account or the service. */
interface AlarmInstance {
  readonly definition: AlarmDefinition;
  readonly suffix?: string;
  readonly dimensions: Dimensions;
  readonly timeoutMs?: number;
  /** The table a table-scoped alarm watches: its operations and indexes are series of their own. */
  readonly table?: TableKey;
}

/** The series a metric stands for on one instance: the instance's, or one per operation or index of its table. */
function seriesDimensions(metric: MetricRef, dimensions: Dimensions, table: TableKey | undefined): Dimensions[] {
  if (!metric.across) return [dimensions];
  if (!table) throw new Error(`${metric.namespace} ${metric.name} is split across ${metric.across}, which only table metrics have`);
  if (metric.across === 'operations') return tableOperations(table).map((Operation) => ({ ...dimensions, Operation }));
  const indexes = (TABLES[table] as TableSchema).indexes ?? [];
  return [dimensions, ...indexes.map((index) => ({ ...dimensions, GlobalSecondaryIndexName: index.name }))];
}

const PERCENTILE = /^p\d+(\.\d+)?$/;

/** A dashboard section repeated for one function or table, or the section itself. */
interface SectionInstance {
  readonly label?: string;
  readonly dimensions: Dimensions;
  readonly function?: FunctionName;
  readonly table?: TableKey;
}

/** CloudWatch's limit on an alarm status widget (test/apply-rules/data/cloudwatch-dashboard-body.json). */
const MAX_ALARMS_PER_WIDGET = 100;

/** Rows of about four alarms each at the widget's width, plus its title. */
function alarmWidgetHeight(widget: Record<string, unknown>): number {
  const alarms = ((widget.properties as { alarms: unknown[] }).alarms ?? []).length;
  return Math.min(12, 2 + Math.ceil(alarms / 4));
}

/** A dashboard metric row: [namespace, name, dimension name, value, …, rendering options]. */
function metricRow(metric: MetricRef | SliMetric, dimensions: Dimensions, options: Record<string, unknown>): unknown[] {
  return [metric.namespace, metric.name, ...Object.entries(dimensions).flat(), options];
}

/** 300 → 5m, 3600 → 1h, 259200 → 3d: how alarm names and descriptions speak of a window. */
export function windowLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  return `${seconds / 60}m`;
}

/**
 * Alarms, SNS topics per severity, the composite page, the dashboard, saved Logs Insights queries and X-Ray
 * sampling, all rendered from the catalogs in dashboards/. Every alarm description starts with what broke and
 * ends with its runbook link, stamped here and nowhere else.
 */
export class Observability extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];
  /** Each SLO's burn-rate windows (metric alarms) and tiers (a composite of a long and a short window). */
  readonly sloAlarms: { readonly windows: CloudwatchMetricAlarm[]; readonly tiers: CloudwatchCompositeAlarm[] } = { windows: [], tiers: [] };
  /** The one alarm that pages: any page alarm or page-severity SLO tier in ALARM. */
  private pageComposite?: CloudwatchCompositeAlarm;
  /** The ticket-severity topic and its policy: budgets notify the same people tickets do, once the policy lets them. */
  readonly ticketTargets: { readonly topicArn: string; readonly policy: SnsTopicPolicy };
  /** `${var.runbook_base_url}`: a fork or an internal wiki mirror links its own runbooks without a code change. */
  private readonly runbookBase: string;

  constructor(scope: Construct, id: string, private readonly props: ObservabilityProps) {
    super(scope, id);
    const { stage } = props;
    const runbookBase = new TerraformVariable(this, RUNBOOK_BASE_URL_VARIABLE, {
      type: 'string',
      default: stage.observability.runbookBaseUrl,
      description: 'Base URL alarm descriptions link runbooks under: <base>/dashboards/runbooks/<alarm>.md',
      validation: [
        {
          condition: `\${can(regex("^https://[^/]+", var.${RUNBOOK_BASE_URL_VARIABLE}))}`,
          errorMessage: `${RUNBOOK_BASE_URL_VARIABLE} must be an https:// URL.`,
        },
      ],
    });
    runbookBase.overrideLogicalId(RUNBOOK_BASE_URL_VARIABLE);
    this.runbookBase = runbookBase.stringValue;
    const topics = { page: this.topic('page'), ticket: this.topic('ticket') } satisfies Record<Severity, { topic: SnsTopic; policy: SnsTopicPolicy }>;
    this.ticketTargets = { topicArn: topics.ticket.topic.arn, policy: topics.ticket.policy };
    this.slackChannel([topics.page.topic, topics.ticket.topic]);

    for (const instance of this.instances()) {
      // Page alarms notify through the composite, so one incident pages once.
      const actions = instance.definition.severity === 'ticket' ? [topics.ticket.topic.arn] : [];
      this.alarms.push(this.alarm(instance, actions));
    }
    const sloTiers = SLOS.flatMap((slo) => BURN_RATE_TIERS.map((tier) => this.burnRateTier(slo, tier, topics.ticket.topic.arn)));
    const paging = [...this.alarms.filter((a) => a.tagsInput?.severity === 'page'), ...sloTiers.filter((t) => t.tagsInput?.severity === 'page')];
    this.pageComposite = new CloudwatchCompositeAlarm(this, 'page-composite', {
      alarmName: resourceName(stage, 'page'),
      alarmDescription: `Something users feel is broken: one of ${paging.length} page alarms fired. Open the wschat dashboard; each member alarm links its runbook.`,
      alarmRule: paging.map((a) => `ALARM("${a.alarmName}")`).join(' OR '),
      alarmActions: [topics.page.topic.arn],
      okActions: [topics.page.topic.arn],
      tags: { severity: 'page' },
    });

    const dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: resourceName(stage, 'oncall'),
      dashboardBody: JSON.stringify({ widgets: this.dashboardWidgets() }),
    });
    for (const query of QUERIES) {
      new CloudwatchQueryDefinition(this, `query-${query.id}`, {
        name: `${SERVICE}/${stage.name}/${query.id}`,
        logGroupNames: query.logGroups === 'functions' ? [...props.functionLogGroups] : [props.accessLogGroup],
        queryString: query.query,
      });
    }

    // No sampling rule: Lambda samples active tracing itself and ignores X-Ray sampling rules (docs/operations.md).
    // Traces of this stage's failed or slow requests, by the tracer's annotations (stage, route, outcome; never
    // user ids): a group filter may not combine service() with annotations.
    new XrayGroup(this, 'problem-traces', {
      groupName: resourceName(stage, 'problems'),
      filterExpression: `annotation.stage = "${stage.name}" AND (annotation.outcome != "ok" OR responsetime > 3)`,
      insightsConfiguration: { insightsEnabled: true, notificationsEnabled: false },
    });

    new TerraformOutput(this, 'dashboard_url', {
      value: `https://${stage.region}.console.aws.amazon.com/cloudwatch/home?region=${stage.region}#dashboards:name=${dashboard.dashboardName}`,
    }).overrideLogicalId('dashboard_url');
    new TerraformOutput(this, 'alarm_topic_arns', {
      value: { page: topics.page.topic.arn, ticket: topics.ticket.topic.arn },
    }).overrideLogicalId('alarm_topic_arns');
  }

  /**
   * A severity's topic, its policy and its subscribers: emails and HTTPS event URLs (PagerDuty, Opsgenie) from
   * variables. A stage that requires a page target checks, in `terraform plan`, that the page topic reaches someone.
   */
  private topic(severity: Severity): { topic: SnsTopic; policy: SnsTopicPolicy } {
    const { stage } = this.props;
    const names = ALARM_TARGET_VARIABLES[severity];
    const emails = new TerraformVariable(this, names.emails, {
      type: 'list(string)',
      default: [],
      description: `Email addresses that receive ${severity === 'page' ? 'the composite page alarm' : 'ticket-severity alarms'} (each confirms its subscription by mail)`,
    });
    emails.overrideLogicalId(names.emails);
    const endpoints = new TerraformVariable(this, names.httpsEndpoints, {
      type: 'list(string)',
      default: [],
      description: `HTTPS event URLs (PagerDuty, Opsgenie integrations) subscribed to the ${severity} topic; SNS posts its JSON notifications there`,
      validation: [
        {
          condition: `\${alltrue([for url in var.${names.httpsEndpoints} : can(regex("^https://[^/]+", url))])}`,
          errorMessage: `${names.httpsEndpoints} must hold https:// URLs only (SNS delivers HTTPS subscriptions to https:// endpoints).`,
        },
      ],
    });
    endpoints.overrideLogicalId(names.httpsEndpoints);
    const required = severity === 'page' && stage.observability.requirePageTarget;
    const topic = new SnsTopic(this, `${severity}-topic`, {
      name: resourceName(stage, `alarms-${severity}`),
      kmsMasterKeyId: this.props.kmsKeyArn,
      lifecycle: required
        ? {
            precondition: [
              {
                condition: `\${length(var.${names.emails}) + length(var.${names.httpsEndpoints}) > 0}`,
                errorMessage: `The ${stage.name} stage pages nobody: set ${names.httpsEndpoints} (PagerDuty or Opsgenie event URLs) or ${names.emails} in your tfvars.`,
              },
            ],
          }
        : undefined,
    });
    const account = this.props.accountId;
    const policy = new SnsTopicPolicy(this, `${severity}-topic-policy`, {
      arn: topic.arn,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountManagesTopic',
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${account}:root` },
            Action: ['SNS:GetTopicAttributes', 'SNS:SetTopicAttributes', 'SNS:AddPermission', 'SNS:RemovePermission', 'SNS:DeleteTopic', 'SNS:Subscribe', 'SNS:ListSubscriptionsByTopic', 'SNS:Publish'],
            Resource: topic.arn,
          },
          {
            // Only this account's alarms and budgets, so no other account's service resources can publish here.
            Sid: 'ServicesOfThisAccountPublish',
            Effect: 'Allow',
            Principal: { Service: [...TOPIC_PUBLISHERS[severity]] },
            Action: 'SNS:Publish',
            Resource: topic.arn,
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
        ],
      }),
    });
    const subscribe = (id: string, list: TerraformVariable, protocol: 'email' | 'https') => {
      const each = TerraformIterator.fromList(list.listValue);
      new SnsTopicSubscription(this, id, { forEach: each, topicArn: topic.arn, protocol, endpoint: each.value as string });
    };
    subscribe(`${severity}-subscriptions`, emails, 'email');
    subscribe(`${severity}-https-subscriptions`, endpoints, 'https');
    return { topic, policy };
  }

  /** An AWS Chatbot channel for both topics, when the operator names one (the Slack workspace is authorised once, by hand). */
  private slackChannel(topics: readonly SnsTopic[]): void {
    const { stage } = this.props;
    const channel = new TerraformVariable(this, SLACK_CHANNEL_VARIABLE, {
      type: 'object({ workspace_id = string, channel_id = string, iam_role_arn = string })',
      nullable: true,
      description: 'Optional AWS Chatbot Slack channel for page and ticket alarms: the authorised workspace (team) id, the channel id and the channel role ARN',
    });
    channel.overrideLogicalId(SLACK_CHANNEL_VARIABLE);
    // Optional: a null default (cdktf cannot render `default: null` itself).
    channel.addOverride('default', null);
    const slack = new ChatbotSlackChannelConfiguration(this, 'slack-channel', {
      configurationName: resourceName(stage, 'alarms'),
      slackTeamId: `\${var.${SLACK_CHANNEL_VARIABLE}.workspace_id}`,
      slackChannelId: `\${var.${SLACK_CHANNEL_VARIABLE}.channel_id}`,
      iamRoleArn: `\${var.${SLACK_CHANNEL_VARIABLE}.iam_role_arn}`,
      snsTopicArns: topics.map((t) => t.arn),
    });
    slack.addOverride('count', `\${var.${SLACK_CHANNEL_VARIABLE} == null ? 0 : 1}`);
  }

  /** The aliases the stage provisions concurrency on, with the dimensions Lambda publishes their metrics under. */
  private provisionedAliases(): { name: FunctionName; dimensions: Dimensions }[] {
    const { stage, functions } = this.props;
    return (Object.keys(stage.concurrency.provisioned) as FunctionName[]).map((name) => ({
      name,
      dimensions: { FunctionName: functions[name].functionName, Resource: aliasQualifiedName(functions[name].functionName) },
    }));
  }

  private instances(): AlarmInstance[] {
    const { apiId, stage, functions, tables } = this.props;
    return (ALARMS as readonly AlarmDefinition[]).flatMap((definition): AlarmInstance[] => {
      switch (definition.scope) {
        case 'api':
          return [{ definition, dimensions: { ApiId: apiId, Stage: stage.name } }];
        case 'function':
          return (Object.keys(functions) as FunctionName[])
            .filter((name) => !definition.exceptFunctions?.functions.includes(name))
            .filter((name) => !definition.onlyFunctions || definition.onlyFunctions.functions.includes(name))
            .map((name) => ({
            definition,
            suffix: name,
            dimensions: { FunctionName: functions[name].functionName },
            timeoutMs: FUNCTIONS[name].timeoutSeconds * 1000,
          }));
        case 'table':
          return (Object.keys(tables) as TableKey[]).map((key) => ({
            definition,
            suffix: key,
            dimensions: { TableName: tables[key].name },
            table: key,
          }));
        case 'queue':
          return [{ definition, dimensions: { QueueName: this.props.fanoutDeadLetterQueue } }];
        case 'account':
          return [{ definition, dimensions: {} }];
        case 'service':
          return [{ definition, dimensions: { service: SERVICE, stage: stage.name } }];
        case 'certificate':
          return this.props.certificateArn ? [{ definition, dimensions: { CertificateArn: this.props.certificateArn } }] : [];
        case 'provisioned-alias':
          return this.provisionedAliases().map(({ name, dimensions }) => ({ definition, suffix: name, dimensions }));
      }
    });
  }

  private alarm(instance: AlarmInstance, actions: string[]): CloudwatchMetricAlarm {
    const { definition: d, suffix, dimensions, table } = instance;
    const { stage } = this.props;
    const name = resourceName(stage, suffix ? `${d.id}-${suffix}` : d.id);
    const base: CloudwatchMetricAlarmConfig = {
      alarmName: name,
      alarmDescription: `${d.whatBroke}${suffix ? ` (${suffix})` : ''}. Severity: ${d.severity}. Runbook: ${this.runbookBase}/${runbookPath(d.id)}`,
      evaluationPeriods: d.evaluationPeriods,
      datapointsToAlarm: d.datapointsToAlarm,
      treatMissingData: d.treatMissingData,
      comparisonOperator: 'GreaterThanThreshold',
      alarmActions: actions,
      okActions: actions,
      tags: { severity: d.severity, alarm: d.id, ...(d.scheduledFunction ? { [SCHEDULED_FUNCTION_TAG]: d.scheduledFunction } : {}) },
    };
    const threshold = (fallback: number) => this.stageThreshold(d, fallback);
    const query = (id: string, metric: MetricRef, seriesDims: Dimensions = dimensions) => ({
      id,
      returnData: false,
      metric: { namespace: metric.namespace, metricName: metric.name, stat: metric.stat, period: d.periodSeconds, dimensions: seriesDims },
    });
    const rule = d.rule;
    const single = (metric: MetricRef) => {
      if (metric.across) throw new Error(`alarm ${d.id}: ${metric.name} is split across ${metric.across}; only a sum rule adds series up`);
      return metric;
    };
    switch (rule.kind) {
      case 'threshold': {
        single(rule.metric);
        const value = this.thresholdOf(d, instance.timeoutMs);
        const percentile = PERCENTILE.test(rule.metric.stat);
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          namespace: rule.metric.namespace,
          metricName: rule.metric.name,
          dimensions,
          period: d.periodSeconds,
          ...(percentile ? { extendedStatistic: rule.metric.stat } : { statistic: rule.metric.stat }),
          comparisonOperator: rule.comparison,
          threshold: threshold(value),
        });
      }
      case 'sum': {
        const series = rule.metrics.flatMap((m) => seriesDimensions(m, dimensions, table).map((dims) => ({ metric: m, dims })));
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          comparisonOperator: rule.comparison,
          threshold: threshold(rule.threshold),
          metricQuery: [
            ...series.map((s, i) => query(`m${i + 1}`, s.metric, s.dims)),
            { id: 'e1', expression: series.map((_, i) => `FILL(m${i + 1}, 0)`).join(' + '), label: d.id, returnData: true },
          ],
        });
      }
      case 'max': {
        const series = seriesDimensions(rule.metric, dimensions, table);
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          comparisonOperator: rule.comparison,
          threshold: threshold(rule.threshold),
          metricQuery: [
            ...series.map((dims, i) => query(`m${i + 1}`, rule.metric, dims)),
            // MAX skips series without a datapoint: an operation nobody performed this period is not slow.
            { id: 'e1', expression: `MAX([${series.map((_, i) => `m${i + 1}`).join(', ')}])`, label: d.id, returnData: true },
          ],
        });
      }
      case 'ratio': {
        [rule.numerator, ...rule.denominators].forEach(single);
        const math = this.ratioMath(rule, 'm');
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          threshold: threshold(rule.thresholdPercent),
          metricQuery: [
            ...math.metrics.map(({ id, metric }) => query(id, metric)),
            { id: 'e1', expression: math.expression, label: `${d.id} (%)`, returnData: true },
          ],
        });
      }
      case 'anomaly':
        single(rule.metric);
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          comparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
          thresholdMetricId: 'ad1',
          metricQuery: [
            { ...query('m1', rule.metric), returnData: true },
            { id: 'ad1', expression: `ANOMALY_DETECTION_BAND(m1, ${rule.bandWidth})`, label: `${d.id} band`, returnData: true },
          ],
        });
    }
  }

  /** A catalog threshold as this stage renders it: its override (observability.alarmThresholds), or the catalog's. */
  private stageThreshold(d: AlarmDefinition, fallback: number): number {
    return this.props.stage.observability.alarmThresholds?.[d.id] ?? fallback;
  }

  /** The value a threshold rule compares with: a number, a share of the function's timeout or of the concurrency quota. */
  private thresholdOf(d: AlarmDefinition, timeoutMs?: number): number {
    const rule = d.rule;
    if (rule.kind !== 'threshold') throw new Error(`alarm ${d.id} has no single threshold`);
    return typeof rule.threshold === 'number'
      ? rule.threshold
      : 'timeoutShare' in rule.threshold
        ? Math.round(rule.threshold.timeoutShare * (timeoutMs ?? 0))
        : Math.round(rule.threshold.quotaShare * this.props.stage.observability.lambdaConcurrencyQuota);
  }

  /**
   * A ratio rule's metric math, shared by its alarm and its dashboard graph: metric ids `<prefix>1…` (the numerator
   * first) and the percentage expression over them.
   */
  private ratioMath(rule: Extract<AlarmDefinition['rule'], { kind: 'ratio' }>, prefix: string) {
    const metrics = [rule.numerator, ...rule.denominators].map((metric, i) => ({ id: `${prefix}${i + 1}`, metric }));
    // FILL: a metric with no datapoint in a period counts as 0 there, so one quiet input does not hide the rate.
    const requests = rule.denominators.map((_, i) => `FILL(${prefix}${i + 2}, 0)`).join(' + ');
    // The traffic floor: below it the rate reads 0, so a handful of requests cannot page anyone.
    const floor = this.props.stage.observability.rateAlarmMinRequests;
    return { metrics, expression: `IF((${requests}) >= ${floor}, 100 * FILL(${prefix}1, 0) / (${requests}), 0)` };
  }

  /**
   * One burn-rate tier of an SLO: a metric alarm per window, each reading the SLO's burn rate (the bad share of
   * events over the window divided by the error budget) against the tier's rate, and a composite that fires when
   * both do. Each window is one period of its own length: CloudWatch evaluates a period over a sliding window
   * ending now, so the 1 h window is the last hour, re-read every minute. Below the stage's traffic floor of
   * events in a window the burn reads 0, as the rate alarms do.
   */
  private burnRateTier(slo: SloDefinition, tier: BurnRateTier, ticketTopic: string): CloudwatchCompositeAlarm {
    const { stage } = this.props;
    const id = sloAlarmId(slo.id, tier.id);
    const runbook = `Runbook: ${this.runbookBase}/${runbookPath(sloRunbookId(slo.id))}`;
    const rate = burnRate(tier);
    const target = stage.observability.sloTargets[slo.id];
    const windows = (['long', 'short'] as const).map((window) => {
      const seconds = window === 'long' ? tier.longWindowSeconds : tier.shortWindowSeconds;
      const name = resourceName(stage, `${id}-${windowLabel(seconds)}`);
      const alarm = new CloudwatchMetricAlarm(this, name, {
        alarmName: name,
        alarmDescription: `The ${slo.id} error budget (${target}% of ${slo.objective}) burns over ${rate}x its sustainable rate over the last ${windowLabel(seconds)} (${window} window of the ${tier.id} tier). ${runbook}`,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No events in the window is no budget burnt.
        treatMissingData: 'notBreaching',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: rate,
        metricQuery: this.burnRateQueries(slo, seconds, target),
        tags: { slo: slo.id, tier: tier.id, window },
      });
      this.sloAlarms.windows.push(alarm);
      return alarm;
    });
    const percent = Math.round(tier.budgetShare * 100);
    // Page tiers notify through the page composite (one page per incident); the ticket tier notifies by itself.
    const actions = tier.severity === 'ticket' ? [ticketTopic] : [];
    const composite = new CloudwatchCompositeAlarm(this, `${id}-tier`, {
      alarmName: resourceName(stage, id),
      alarmDescription: `The ${slo.id} SLO is burning its error budget: ${percent}% of 30 days' budget in ${windowLabel(tier.longWindowSeconds)} and still burning over the last ${windowLabel(tier.shortWindowSeconds)}. Severity: ${tier.severity}. ${runbook}`,
      alarmRule: windows.map((w) => `ALARM("${w.alarmName}")`).join(' AND '),
      alarmActions: actions,
      okActions: actions,
      tags: { severity: tier.severity, slo: slo.id, tier: tier.id },
    });
    this.sloAlarms.tiers.push(composite);
    return composite;
  }

  /** The metric queries of an SLO's burn rate over one window: its SLI's inputs and the expression `e1`. */
  private burnRateQueries(slo: SloDefinition, seconds: number, targetPercent: number): CloudwatchMetricAlarmMetricQuery[] {
    const math = this.sliMath(slo, targetPercent);
    return [
      ...math.metrics.map(({ id, metric, stat }) => ({
        id,
        returnData: false,
        metric: { namespace: metric.namespace, metricName: metric.name, stat, period: seconds, dimensions: this.sliDimensions(metric) },
      })),
      { id: 'e1', expression: math.burnRate, label: `${slo.id} burn rate`, returnData: true },
    ];
  }

  private sliDimensions(metric: SliMetric): Dimensions {
    const { stage, functions } = this.props;
    return metric.function ? { FunctionName: functions[metric.function].functionName } : { service: SERVICE, stage: stage.name };
  }

  /**
   * An SLO's metric math, shared by its burn-rate alarms and its dashboard widgets: the SLI's inputs (ids m… for
   * bad or slow events, g… for good ones), the burn rate (bad share ÷ budget, 0 below the stage's traffic floor)
   * and the error budget left over the inputs' period (100% when nothing happened).
   */
  private sliMath(slo: SloDefinition, targetPercent: number) {
    const floor = this.props.stage.observability.rateAlarmMinRequests;
    // The budget: the share of events allowed to be bad (0.001 for 99.9%), rounded past float noise.
    const budget = Math.round((100 - targetPercent) * 1e6) / 1e8;
    const sli = slo.sli;
    if (sli.kind === 'failures') {
      const bad = sli.failed.map((_, i) => `FILL(m${i + 1}, 0)`).join(' + ');
      const good = sli.succeeded.map((_, i) => `FILL(g${i + 1}, 0)`).join(' + ');
      const share = `(${bad}) / (${bad} + ${good})`;
      return {
        metrics: [...sli.failed.map((metric, i) => ({ id: `m${i + 1}`, metric, stat: metric.stat })), ...sli.succeeded.map((metric, i) => ({ id: `g${i + 1}`, metric, stat: metric.stat }))],
        burnRate: `IF((${bad} + ${good}) >= ${floor}, ${share} / ${budget}, 0)`,
        budgetLeft: `IF((${bad} + ${good}) > 0, 100 * (1 - ${share} / ${budget}), 100)`,
      };
    }
    const duration: SliMetric = { namespace: METRICS_NAMESPACE, name: sli.metric, stat: 'SampleCount' };
    return {
      metrics: [
        { id: 'm1', metric: duration, stat: `PR(:${sli.boundMs})` },
        { id: 'm2', metric: duration, stat: 'SampleCount' },
      ],
      burnRate: `IF(FILL(m2, 0) >= ${floor}, (100 - m1) / 100 / ${budget}, 0)`,
      budgetLeft: `IF(FILL(m2, 0) > 0, 100 * (1 - (100 - m1) / 100 / ${budget}), 100)`,
    };
  }

  /**
   * CloudWatch dashboard widgets on its 24-column grid: a header row per section, then its widgets left to right,
   * three graphs a row; text and alarm lists take a row of their own.
   */
  private dashboardWidgets(): Record<string, unknown>[] {
    const widgets: Record<string, unknown>[] = [];
    let y = 0;
    const { functions, tables, stage } = this.props;
    for (const section of DASHBOARD) {
      if (section.onlyWithDetailedMetrics && !stage.detailedMetrics) continue;
      const instances: SectionInstance[] =
        section.each === 'function'
          ? (Object.keys(functions) as FunctionName[]).map((name) => ({ label: name, dimensions: { FunctionName: functions[name].functionName }, function: name }))
          : section.each === 'table'
            ? (Object.keys(tables) as TableKey[]).map((key) => ({ label: key, dimensions: { TableName: tables[key].name }, table: key }))
            : section.each === 'provisioned-alias'
              ? this.provisionedAliases().map(({ name, dimensions }) => ({ label: `${name}:${LIVE_ALIAS}`, dimensions }))
              : [{ dimensions: {} }];
      for (const instance of instances) {
        const title = instance.label ? `${section.title}: ${instance.label}` : section.title;
        widgets.push({ type: 'text', x: 0, y, width: 24, height: 1, properties: { markdown: `## ${title}` } });
        y += 1;
        let x = 0;
        let rowHeight = 0;
        for (const rendered of section.widgets.flatMap((w) => this.widget(w, instance))) {
          const full = rendered.type === 'text' || rendered.type === 'alarm';
          const width = full ? 24 : 8;
          if (x + width > 24) {
            y += rowHeight;
            x = 0;
            rowHeight = 0;
          }
          const height = rendered.type === 'text' ? 3 : rendered.type === 'alarm' ? alarmWidgetHeight(rendered) : 6;
          widgets.push({ ...rendered, x, y, width, height });
          x += width;
          rowHeight = Math.max(rowHeight, height);
        }
        y += rowHeight;
      }
    }
    return widgets;
  }

  /** The widgets one catalog widget renders to in one section instance (none where it does not apply). */
  private widget(widget: Widget, instance: SectionInstance): (Record<string, unknown> & { type: string })[] {
    const { stage } = this.props;
    switch (widget.type) {
      case 'text':
        return [{ type: 'text', properties: { markdown: widget.markdown } }];
      case 'alarms': {
        const arns =
          widget.alarms === 'page-and-slos'
            ? [(this.pageComposite as CloudwatchCompositeAlarm).arn, ...this.sloAlarms.tiers.map((t) => t.arn)]
            : [...this.alarms, ...this.sloAlarms.windows].map((a) => a.arn);
        // An alarm status widget lists at most 100 alarms: more are split across widgets of the same title.
        const chunks = Array.from({ length: Math.ceil(arns.length / MAX_ALARMS_PER_WIDGET) }, (_, i) => arns.slice(i * MAX_ALARMS_PER_WIDGET, (i + 1) * MAX_ALARMS_PER_WIDGET));
        return chunks.map((alarms, i) => ({
          type: 'alarm',
          // ALARM first, then INSUFFICIENT_DATA, then OK: what needs attention is on top.
          properties: { title: chunks.length > 1 ? `${widget.title} (${i + 1}/${chunks.length})` : widget.title, alarms, sortBy: 'stateUpdatedTimestamp' },
        }));
      }
      case 'logs': {
        const query = QUERIES.find((q) => q.id === widget.queryId) as (typeof QUERIES)[number];
        const groups = query.logGroups === 'functions' ? this.props.functionLogGroups : [this.props.accessLogGroup];
        return [
          {
            type: 'log',
            properties: {
              title: widget.title,
              region: stage.region,
              view: 'table',
              query: `${groups.map((g) => `SOURCE '${g}'`).join(' | ')} | ${query.query.replace(/\n/g, ' ')}`,
            },
          },
        ];
      }
      case 'rate': {
        const rows: unknown[][] = [];
        const horizontal: { label: string; value: number }[] = [];
        widget.alarms.forEach((id, n) => {
          const d = alarmById(id);
          if (d.rule.kind !== 'ratio') throw new Error(`dashboard rate widget "${widget.title}": ${id} is not a ratio alarm`);
          if (!this.alarmCovers(d, instance)) return;
          const math = this.ratioMath(d.rule, `r${n}m`);
          const dims = this.scopeDimensions(d.scope, instance);
          for (const { id: metricId, metric } of math.metrics) rows.push(metricRow(metric, dims, { id: metricId, stat: metric.stat, visible: false }));
          rows.push([{ id: `r${n}`, expression: math.expression, label: `${id} (%)` }]);
          horizontal.push({ label: `${id}: ${d.severity} above ${this.stageThreshold(d, d.rule.thresholdPercent)}%`, value: this.stageThreshold(d, d.rule.thresholdPercent) });
        });
        if (!rows.length) return [];
        return [this.graph(widget.title, rows, horizontal)];
      }
      case 'budget': {
        const slo = sloById(widget.slo);
        const target = stage.observability.sloTargets[slo.id];
        const math = this.sliMath(slo, target);
        return [
          {
            type: 'metric',
            properties: {
              title: `${slo.id}: error budget left of 30 days (target ${target}%)`,
              region: stage.region,
              view: 'singleValue',
              // The whole 30 days as one value; the budget period of dashboards/slos.ts.
              start: `-P${SLO_PERIOD_SECONDS / 86_400}D`,
              setPeriodToTimeRange: true,
              period: SLO_PERIOD_SECONDS,
              metrics: [
                ...math.metrics.map(({ id, metric, stat }) => metricRow(metric, this.sliDimensions(metric), { id, stat, visible: false })),
                [{ id: 'budget', expression: math.budgetLeft, label: `${slo.id} budget left (%)` }],
              ],
            },
          },
        ];
      }
      case 'burn-rate': {
        const slo = sloById(widget.slo);
        const math = this.sliMath(slo, stage.observability.sloTargets[slo.id]);
        const rows = [
          ...math.metrics.map(({ id, metric, stat }) => metricRow(metric, this.sliDimensions(metric), { id, stat, visible: false })),
          [{ id: 'burn', expression: math.burnRate, label: `${slo.id} burn rate` }],
        ];
        const horizontal = BURN_RATE_TIERS.map((tier) => ({ label: `${tier.id} tier: ${tier.severity} above ${burnRate(tier)}x`, value: burnRate(tier) }));
        return [this.graph(`${slo.id}: burn rate (1 = the budget lasts 30 days)`, rows, horizontal)];
      }
      case 'metric': {
        const dims = widget.scope === 'route' ? this.scopeDimensions('api', instance) : this.scopeDimensions(widget.scope, instance);
        const rows = widget.series.flatMap((s) =>
          this.seriesOf(s.metric, dims, instance.table).map((d) =>
            metricRow(s.metric, d, { stat: s.metric.stat, label: [s.label, d.Operation, d.GlobalSecondaryIndexName, d.Route].filter(Boolean).join(' ') }),
          ),
        );
        const horizontal = (widget.annotations ?? []).flatMap((a) => this.annotation(a, instance));
        return [this.graph(widget.title, rows, horizontal)];
      }
    }
  }

  /** A time-series graph, one value a minute, with horizontal annotations when it has any. */
  private graph(title: string, metrics: unknown[][], horizontal: readonly { label: string; value: number }[]): Record<string, unknown> & { type: string } {
    return {
      type: 'metric',
      properties: {
        title,
        region: this.props.stage.region,
        view: 'timeSeries',
        period: 60,
        metrics,
        ...(horizontal.length ? { annotations: { horizontal } } : {}),
      },
    };
  }

  /** A catalog alarm's threshold as a line, where the alarm exists in this section instance, or a share of the quota. */
  private annotation(annotation: Annotation, instance: SectionInstance): { label: string; value: number }[] {
    if ('quotaShare' in annotation) {
      return [{ label: annotation.label, value: Math.round(annotation.quotaShare * this.props.stage.observability.lambdaConcurrencyQuota) }];
    }
    const d = alarmById(annotation.alarm);
    if (!this.alarmCovers(d, instance)) return [];
    const value =
      d.rule.kind === 'threshold'
        ? this.stageThreshold(d, this.thresholdOf(d, instance.function ? FUNCTIONS[instance.function].timeoutSeconds * 1000 : undefined))
        : d.rule.kind === 'max' || d.rule.kind === 'sum'
          ? this.stageThreshold(d, d.rule.threshold)
          : undefined;
    if (value === undefined) throw new Error(`dashboard annotation: ${d.id} is a ${d.rule.kind} alarm, which has no threshold to draw`);
    return [{ label: `${d.id}: ${d.severity} above ${value}`, value }];
  }

  /** Whether a catalog alarm has an instance in this section instance (a per-function alarm may skip some functions). */
  private alarmCovers(d: AlarmDefinition, instance: SectionInstance): boolean {
    if (d.scope !== 'function' || !instance.function) return true;
    if (d.exceptFunctions?.functions.includes(instance.function)) return false;
    return !d.onlyFunctions || d.onlyFunctions.functions.includes(instance.function);
  }

  /** The dimensions of a scope's metrics: the API's, the service's, the queue's, the account's (none) or the section instance's. */
  private scopeDimensions(scope: AlarmScope, instance: SectionInstance): Dimensions {
    const { stage, apiId } = this.props;
    switch (scope) {
      case 'api':
        return { ApiId: apiId, Stage: stage.name };
      case 'service':
        return { service: SERVICE, stage: stage.name };
      case 'queue':
        return { QueueName: this.props.fanoutDeadLetterQueue };
      case 'account':
        return {};
      default:
        return instance.dimensions;
    }
  }

  /** A metric's series: across a table's operations or indexes, across the API's routes, or the one series. */
  private seriesOf(metric: MetricRef, dimensions: Dimensions, table?: TableKey): Dimensions[] {
    if (metric.across === 'routes') return ROUTES.map((r) => ({ ...dimensions, Route: r.routeKey }));
    return seriesDimensions(metric, dimensions, table);
  }
}

