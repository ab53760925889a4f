import { ChatbotSlackChannelConfiguration } from '@cdktf/provider-aws/lib/chatbot-slack-channel-configuration/index.js';
import { CloudwatchCompositeAlarm } from '@cdktf/provider-aws/lib/cloudwatch-composite-alarm/index.js';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { CloudwatchQueryDefinition } from '@cdktf/provider-aws/lib/cloudwatch-query-definition/index.js';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { XrayGroup } from '@cdktf/provider-aws/lib/xray-group/index.js';
import { TerraformIterator, TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { ALARMS, runbookPath, type AlarmDefinition, type MetricRef, type Severity } from '../../dashboards/alarms.ts';
import { DASHBOARD, type Widget } from '../../dashboards/dashboard.ts';
import { QUERIES } from '../../dashboards/queries.ts';
import { FUNCTIONS, tableOperations, type FunctionName } from '../../functions/catalog/functions.ts';
import { TABLES, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { resourceName, SERVICE, type StageConfig } from '../config/stages.ts';
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

/**
 * Alarms, SNS topics per severity, the composite page, the dashboard, saved Logs Insights queries and X-Ray
 * sampling, all rendered from the catalogs in dashboards/. Every alarm description starts with what broke and
 * ends with its runbook link, stamped here and nowhere else.
 */
export class Observability extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];
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
    const paging = this.alarms.filter((a) => a.tagsInput?.severity === 'page');
    new CloudwatchCompositeAlarm(this, 'page-composite', {
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
      tags: { severity: d.severity, alarm: d.id },
    };
    const threshold = (fallback: number) => stage.observability.alarmThresholds?.[d.id] ?? fallback;
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
        const value =
          typeof rule.threshold === 'number'
            ? rule.threshold
            : 'timeoutShare' in rule.threshold
              ? Math.round(rule.threshold.timeoutShare * (instance.timeoutMs ?? 0))
              : Math.round(rule.threshold.quotaShare * stage.observability.lambdaConcurrencyQuota);
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
        // FILL: a metric with no datapoint in a period counts as 0 there, so one quiet input does not hide the rate.
        const requests = rule.denominators.map((_, i) => `FILL(m${i + 2}, 0)`).join(' + ');
        // The traffic floor: below it the rate reads 0, so a handful of requests cannot page anyone.
        const floor = stage.observability.rateAlarmMinRequests;
        return new CloudwatchMetricAlarm(this, name, {
          ...base,
          threshold: threshold(rule.thresholdPercent),
          metricQuery: [
            query('m1', rule.numerator),
            ...rule.denominators.map((m, i) => query(`m${i + 2}`, m)),
            { id: 'e1', expression: `IF((${requests}) >= ${floor}, 100 * FILL(m1, 0) / (${requests}), 0)`, label: `${d.id} (%)`, returnData: true },
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

  /** CloudWatch dashboard widgets on its 24-column grid: a header row per section, three widgets a row. */
  private dashboardWidgets(): Record<string, unknown>[] {
    const widgets: Record<string, unknown>[] = [];
    let y = 0;
    const { functions, tables } = this.props;
    for (const section of DASHBOARD) {
      const instances: { label?: string; dimensions: Dimensions; table?: TableKey }[] =
        section.each === 'function'
          ? (Object.keys(functions) as FunctionName[]).map((name) => ({ label: name, dimensions: { FunctionName: functions[name].functionName } }))
          : section.each === 'table'
            ? (Object.keys(tables) as TableKey[]).map((key) => ({ label: key, dimensions: { TableName: tables[key].name }, table: key }))
            : [{ dimensions: {} }];
      for (const instance of instances) {
        const title = instance.label ? `${section.title}: ${instance.label}` : section.title;
        widgets.push({ type: 'text', x: 0, y, width: 24, height: 1, properties: { markdown: `## ${title}` } });
        y += 1;
        section.widgets.forEach((widget, i) => {
          const full = widget.type === 'text' || widget.type === 'alarms';
          widgets.push({
            ...this.widget(widget, instance.dimensions, instance.table),
            x: full ? 0 : (i % 3) * 8,
            y: y + (full ? i * 6 : Math.floor(i / 3) * 6),
            width: full ? 24 : 8,
            height: widget.type === 'text' ? 2 : 6,
          });
        });
        y += 6 * Math.max(1, Math.ceil(section.widgets.length / 3)) + (section.widgets.some((w) => w.type === 'alarms') ? 6 : 0);
      }
    }
    return widgets;
  }

  private widget(widget: Widget, sectionDimensions: Dimensions, table?: TableKey): Record<string, unknown> {
    const { stage, apiId } = this.props;
    switch (widget.type) {
      case 'text':
        return { type: 'text', properties: { markdown: widget.markdown } };
      case 'alarms':
        return { type: 'alarm', properties: { title: widget.title, alarms: this.alarms.map((a) => a.arn) } };
      case 'logs': {
        const query = QUERIES.find((q) => q.id === widget.queryId) as (typeof QUERIES)[number];
        const groups = query.logGroups === 'functions' ? this.props.functionLogGroups : [this.props.accessLogGroup];
        return {
          type: 'log',
          properties: {
            title: widget.title,
            region: stage.region,
            view: 'table',
            query: `${groups.map((g) => `SOURCE '${g}'`).join(' | ')} | ${query.query.replace(/\n/g, ' ')}`,
          },
        };
      }
      case 'metric': {
        const dimensions: Dimensions =
          widget.scope === 'api'
            ? { ApiId: apiId, Stage: stage.name }
            : widget.scope === 'service'
              ? { service: SERVICE, stage: stage.name }
              : widget.scope === 'queue'
                ? { QueueName: this.props.fanoutDeadLetterQueue }
                : sectionDimensions;
        return {
          type: 'metric',
          properties: {
            title: widget.title,
            region: stage.region,
            view: 'timeSeries',
            period: 60,
            metrics: widget.series.flatMap((s) =>
              seriesDimensions(s.metric, dimensions, table).map((dims) => [
                s.metric.namespace,
                s.metric.name,
                ...Object.entries(dims).flat(),
                { stat: s.metric.stat, label: [s.label, dims.Operation, dims.GlobalSecondaryIndexName].filter(Boolean).join(' ') },
              ]),
            ),
          },
        };
      }
    }
  }
}

