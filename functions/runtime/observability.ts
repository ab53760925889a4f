/**
 * The one place that creates the Powertools logger and metrics every handler shares, and wraps handlers in them.
 * The tracer lives in tracing.ts: the X-Ray SDK under it is most of a small function's cold start, and the
 * authorizer runs without it (docs/performance.md).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { CANARY_METRICS, CUSTOM_METRICS, METRICS_NAMESPACE, type CanaryMetricName, type CustomMetricName } from '../../dashboards/metrics.ts';
import type { Telemetry } from '../app/ports.ts';
import { ENV } from '../catalog/env.ts';

export const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'wschat';

export const logger = new Logger({ serviceName });
// An empty flush is normal (ping records no business metric); only real metric errors deserve a log line.
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName,
  logger: logger.createChild({ logLevel: 'ERROR' }),
  // Stages may share an account and Region; without the stage their business metrics would mix.
  defaultDimensions: { stage: process.env[ENV.stage] ?? 'unknown' },
});

const UNITS = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  Bytes: MetricUnit.Bytes,
} as const;

export const telemetry: Telemetry = {
  count(metric: CustomMetricName, value = 1) {
    metrics.addMetric(metric, UNITS[CUSTOM_METRICS[metric].unit], value);
  },
  durationMs(metric: CustomMetricName, ms: number, about = {}) {
    for (const [key, value] of Object.entries(about)) metrics.addMetadata(key, value);
    metrics.addMetric(metric, UNITS[CUSTOM_METRICS[metric].unit], ms);
  },
  warn(message, details) {
    logger.warn(message, details);
  },
};

/** The canary's own metrics (CANARY_METRICS): a separate function, so the other bundles leave that catalog out. */
export function publishCanaryMetric(metric: CanaryMetricName, value: number): void {
  metrics.addMetric(metric, UNITS[CANARY_METRICS[metric].unit], value);
}

/**
 * Every handler runs with the invocation's context in its logs and its metrics flushed at the end; `outer`
 * middlewares (tracing.ts's) wrap around those.
 */
export function withLogsAndMetrics<E, R>(handler: (event: E, context: Context) => Promise<R>, outer: readonly MiddlewareObj<E, R>[] = []) {
  const wrapped = middy(handler);
  for (const middleware of outer) wrapped.use(middleware);
  return wrapped.use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics, { captureColdStartMetric: true }));
}
