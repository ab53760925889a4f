/**
 * The service level objectives: what users feel, measured from the handlers' metrics, each with a 30-day error
 * budget. Targets are stage settings (infra/config/stages.ts, observability.slos); infra renders the burn-rate
 * alarms below from this catalog, the dashboard shows each budget, and the runbooks are named by these ids.
 *
 * Burn-rate alarms follow Google's SRE workbook, ch. 5 "Alerting on SLOs" (multiwindow, multi-burn-rate alerts,
 * https://sre.google/workbook/alerting-on-slos/, read 2026-12-03): a tier fires when the budget burns at its rate
 * over a long window AND still burns over a short one (so it resets minutes after the burn stops, not an hour).
 */
import type { FunctionName } from '../functions/catalog/functions.ts';
import type { TableKey } from '../functions/catalog/tables.ts';
import type { MetricRef, Severity } from './alarms.ts';
import { METRICS_NAMESPACE, type CustomMetricName } from './metrics.ts';

/** Error budgets are counted over 30 days, the SRE workbook's period. */
export const SLO_PERIOD_SECONDS = 30 * 86_400;

/** A metric of the service (the handlers' EMF metrics, dimensions service and stage) or of one function (FunctionName). */
export type SliMetric = MetricRef & { readonly function?: FunctionName };

export type Sli =
  /** Bad events over valid ones: sum(failed) / (sum(failed) + sum(succeeded)). Refusals of bad requests count in neither. */
  | { readonly kind: 'failures'; readonly failed: readonly SliMetric[]; readonly succeeded: readonly SliMetric[] }
  /**
   * Events slower than `boundMs` over all events of a duration metric: 100 − percentile rank PR(:bound) is the
   * slow share, and SampleCount the number of events (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html, read 2026-12-03).
   */
  | { readonly kind: 'latency'; readonly metric: CustomMetricName; readonly boundMs: number };

export type SloId = 'send-availability' | 'delivery-latency';

export interface SloDefinition {
  readonly id: SloId;
  /** The promise, in the words of a user: what the target percentage is a percentage of. */
  readonly objective: string;
  readonly sli: Sli;
  /**
   * What the drill does to burn the budget (DynamoDB failing on one table under the traffic the SLO measures), or
   * why the SLO's tiers cannot be drilled locally.
   */
  readonly drill: { readonly fault: 'dynamodb-system-error'; readonly table: TableKey } | { readonly notDrillable: string };
}

const custom = (name: CustomMetricName): SliMetric => ({ namespace: METRICS_NAMESPACE, name, stat: 'Sum' });
const SEND: FunctionName = 'send';

export const SLOS: readonly SloDefinition[] = [
  {
    id: 'send-availability',
    objective: 'sends answered with an ack, among sends that were not refused as bad requests',
    sli: {
      kind: 'failures',
      // A crash or timeout of the send function (no answer at all), or an INTERNAL error frame (a dependency failed).
      failed: [{ namespace: 'AWS/Lambda', name: 'Errors', stat: 'Sum', function: SEND }, custom('SendsFailed')],
      // Acknowledged: stored the first time, or a retry under the same clientMsgId answered with the original ack.
      succeeded: [custom('MessagesReceived'), custom('IdempotentReplay')],
    },
    // The messages table answers 500: every send is answered INTERNAL (SendsFailed). No Lambda error and no API
    // error, so no cause alarm pages beside the tier: the page this drill proves is the SLO's alone.
    drill: { fault: 'dynamodb-system-error', table: 'messages' },
  },
  {
    id: 'delivery-latency',
    objective: 'fan-outs (a room, or one shard of a large room) that reached every recipient within 2 s',
    sli: { kind: 'latency', metric: 'FanoutDuration', boundMs: 2000 },
    drill: {
      notDrillable:
        "at dev's 95% target its fast tier needs over 72% of a (compressed) hour's fan-outs slower than 2 s, and each slowed fan-out holds its send for seconds: minutes of one-at-a-time slow sends a test cannot afford. Its alarms are rendered by the same code as send-availability's, which is drilled, and the fanout-duration alarm drills slow fan-out",
    },
  },
];

export interface BurnRateTier {
  readonly id: 'fast' | 'medium' | 'slow';
  /** Share of the 30-day budget that burning over the long window raises this tier. */
  readonly budgetShare: number;
  readonly longWindowSeconds: number;
  /** The confirmation window: the burn is still going on now. */
  readonly shortWindowSeconds: number;
  readonly severity: Severity;
  /** Why the local stack cannot show this tier fire in a test, when it cannot. */
  readonly notDrillable?: string;
}

/** The workbook's recommended tiers: 2% in 1 h and 5% in 6 h page (the budget is gone in days); 10% in 3 days is a ticket. */
export const BURN_RATE_TIERS: readonly BurnRateTier[] = [
  { id: 'fast', budgetShare: 0.02, longWindowSeconds: 3600, shortWindowSeconds: 300, severity: 'page' },
  {
    id: 'medium',
    budgetShare: 0.05,
    longWindowSeconds: 6 * 3600,
    shortWindowSeconds: 1800,
    severity: 'page',
    notDrillable: 'its 6 h window is 6 minutes at the drills\' 60× time scale, with a burn rate of 6 that the fast tier crosses first; the fast tier\'s drill proves the same rendering',
  },
  {
    id: 'slow',
    budgetShare: 0.1,
    longWindowSeconds: 3 * 86_400,
    shortWindowSeconds: 6 * 3600,
    severity: 'ticket',
    notDrillable: 'its 3-day window is 72 minutes even at the drills\' 60× time scale, longer than the local metric store keeps datapoints and than any test may run',
  },
];

/** The rate at which the budget burns when `budgetShare` of it is spent in `longWindowSeconds`: 14.4, 6 and 1 for the tiers above. */
export function burnRate(tier: BurnRateTier): number {
  return Math.round(((tier.budgetShare * SLO_PERIOD_SECONDS) / tier.longWindowSeconds) * 1000) / 1000;
}

export function sloById(id: string): SloDefinition {
  const slo = SLOS.find((s) => s.id === id);
  if (!slo) throw new Error(`no SLO "${id}"; SLOs: ${SLOS.map((s) => s.id).join(', ')}`);
  return slo;
}

/** The id infra tags a tier's alarms with (tag `slo`), its runbook's name and its composite's suffix. */
export function sloAlarmId(slo: SloId, tier: BurnRateTier['id']): string {
  return `slo-${slo}-${tier}`;
}

/** Every tier of an SLO shares one runbook: what burns the budget does not depend on how fast. */
export function sloRunbookId(slo: SloId): string {
  return `slo-${slo}`;
}
