import { randomUUID } from 'node:crypto';
import { CANARY_STEPS, runCanary, type CanaryStep } from '../app/canary.ts';
import { ClientCredentialsTokenSource } from '../adapters/client-credentials.ts';
import { readSecretString } from '../adapters/secrets-manager.ts';
import { webSocketOpener } from '../adapters/websocket-client.ts';
import type { CanaryMetricName } from '../../dashboards/metrics.ts';
import { CANARY_ENV, requireEnv } from '../catalog/env.ts';
import { CANARY_STEP_TIMEOUT_MS } from '../catalog/functions.ts';
import { logger, publishCanaryMetric } from '../runtime/observability.ts';
import { tracer, withPowertools } from '../runtime/tracing.ts';

const LATENCY_METRICS: Readonly<Record<CanaryStep, CanaryMetricName>> = {
  token: 'CanaryTokenLatency',
  connect: 'CanaryConnectLatency',
  join: 'CanaryJoinLatency',
  ack: 'CanaryAckLatency',
  delivery: 'CanaryDeliveryLatency',
  history: 'CanaryHistoryLatency',
  disconnect: 'CanaryDisconnectLatency',
};

const region = requireEnv('AWS_REGION');
const clientId = requireEnv(CANARY_ENV.clientId);
const secretArn = requireEnv(CANARY_ENV.secretArn);
const tokens = new ClientCredentialsTokenSource({
  tokenEndpoint: requireEnv(CANARY_ENV.tokenEndpoint),
  scope: requireEnv(CANARY_ENV.scope),
  credentials: async () => ({ clientId, clientSecret: await readSecretString(secretArn, { region }) }),
});
const settings = { url: requireEnv(CANARY_ENV.url), room: requireEnv(CANARY_ENV.room), stepTimeoutMs: CANARY_STEP_TIMEOUT_MS };

/**
 * Invoked by the schedule. A failed run is reported by its metrics and a log line, never by throwing: the
 * canary's alarm decides, and an error would only make Lambda retry a run the next minute repeats anyway.
 */
export const handler = withPowertools(async () => {
  const result = await runCanary({ tokens, sockets: webSocketOpener, now: () => performance.now() }, { ...settings, runId: `canary-${randomUUID()}` });
  publishCanaryMetric('CanarySuccess', result.ok ? 1 : 0);
  // A failed run's trace joins the stage's problem traces (annotation.outcome != "ok").
  tracer.putAnnotation('outcome', result.ok ? 'ok' : `failed-${result.failedStep}`);
  for (const step of CANARY_STEPS) {
    const ms = result.latencyMs[step];
    if (ms !== undefined) publishCanaryMetric(LATENCY_METRICS[step], Math.round(ms));
  }
  if (result.ok) logger.info('canary run succeeded', { latencyMs: result.latencyMs });
  else logger.error('canary run failed', { failedStep: result.failedStep, reason: result.reason, latencyMs: result.latencyMs });
  return { ok: result.ok };
});
